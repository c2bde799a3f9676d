import { join } from 'node:path';
import { ArnFormat, Duration, Stack, type RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { PlatformBundle } from '../../../lambdas/transformer/bundle.js';
import type { FeedConfig } from '../../../lambdas/transformer/model.js';
import { outputPrefix, rejectsPrefix } from '../../../lambdas/transformer/output-keys.js';
import { SPLIT_RUN_TIMEOUT_SECONDS } from '../../../lambdas/transformer/split/split-runner.js';
import { acknowledge, wildcardResourceFinding } from '../nag.js';
import { bundlingWith, REPO_ROOT, writeBundle } from './transformer-function.js';

export interface SplitStateMachineProps {
  readonly bundle: PlatformBundle;
  /** The feeds with `split`: only their prefixes are reachable. */
  readonly feeds: readonly FeedConfig[];
  readonly encryptionKey: kms.IKey;
  readonly inboundBucket: s3.IBucket;
  readonly outputBucket: s3.IBucket;
  readonly rejectsBucket: s3.IBucket;
  readonly ledgerTable: dynamodb.ITable;
  readonly eventBus: events.IEventBus;
  /** The transformer's role: it starts runs, and removes parts of a version it ends DUPLICATE or FAILED. */
  readonly transformerRole: iam.IRole;
  readonly memoryMiB: number;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** Lambda's limit: one chunk must fit in one invocation. */
const TASK_TIMEOUT = Duration.minutes(15);

/**
 * The ASL of the split run: plan -> Distributed Map over the plan's chunks (read from S3 by the
 * map's ItemReader; as many at once as the feed's `concurrency`) -> reduce, each step retried;
 * any failure past the retries goes to the fail step, which records FAILED, then the execution fails.
 */
export function splitDefinition(arns: { coordinator: string; chunk: string; rejectsBucket: string }): Record<string, unknown> {
  const invoke = (functionName: string, payload: Record<string, unknown>) => ({
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke',
    Parameters: { FunctionName: functionName, Payload: payload },
    TimeoutSeconds: TASK_TIMEOUT.toSeconds(),
  });
  const retry = (maxAttempts: number) => [
    {
      ErrorEquals: ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'],
      IntervalSeconds: 2,
      MaxAttempts: 6,
      BackoffRate: 2,
      JitterStrategy: 'FULL',
    },
    { ErrorEquals: ['States.ALL'], IntervalSeconds: 5, MaxAttempts: maxAttempts, BackoffRate: 2, JitterStrategy: 'FULL' },
  ];
  const toFail = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' }];
  return {
    Comment: 'partner-etl: one split file, plan -> chunks (Distributed Map) -> reduce; the final status is recorded once in the ledger',
    StartAt: 'Plan',
    TimeoutSeconds: SPLIT_RUN_TIMEOUT_SECONDS,
    States: {
      Plan: {
        ...invoke(arns.coordinator, { step: 'plan', 'input.$': '$' }),
        OutputPath: '$.Payload',
        Retry: retry(2),
        Catch: toFail,
        Next: 'Chunks',
      },
      Chunks: {
        Type: 'Map',
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'JSON' },
          Parameters: { Bucket: arns.rejectsBucket, 'Key.$': '$.planKey' },
        },
        ItemSelector: { 'run.$': '$', 'chunk.$': '$$.Map.Item.Value' },
        MaxConcurrencyPath: '$.concurrency',
        ToleratedFailurePercentage: 0,
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          StartAt: 'Chunk',
          States: {
            Chunk: {
              ...invoke(arns.chunk, { step: 'chunk', 'run.$': '$.run', 'chunk.$': '$.chunk' }),
              // Each child's output is its index only: 10,000 of them stay far below the state size limit.
              ResultSelector: { 'index.$': '$.Payload.index' },
              Retry: retry(3),
              End: true,
            },
          },
        },
        ResultPath: null,
        Catch: toFail,
        Next: 'Reduce',
      },
      Reduce: {
        ...invoke(arns.coordinator, { step: 'reduce', 'run.$': '$' }),
        ResultPath: null,
        Retry: retry(3),
        Catch: toFail,
        End: true,
      },
      RecordFailure: {
        ...invoke(arns.coordinator, { step: 'fail', 'input.$': '$', 'cause.$': '$.error' }),
        ResultPath: null,
        Retry: retry(8),
        Next: 'Failed',
      },
      Failed: { Type: 'Fail', Error: 'SplitRunFailed', Cause: 'a step failed past its retries; the file is recorded FAILED' },
    },
  };
}

/**
 * Added to the stack only when some feed has `split`: the state machine, its two functions (the
 * coordinator runs plan, reduce and the failure step; the chunk function only reads the feeds'
 * prefixes and writes their parts, no ledger, no bus), and a rule that records FAILED for an
 * execution that failed, timed out or was stopped without its own failure step running.
 */
export class SplitStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly coordinator: nodejs.NodejsFunction;
  readonly chunk: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: SplitStateMachineProps) {
    super(scope, id);
    const bundlePath = writeBundle(props.bundle);
    const common = {
      INBOUND_BUCKET: props.inboundBucket.bucketName,
      OUTPUT_BUCKET: props.outputBucket.bucketName,
      REJECTS_BUCKET: props.rejectsBucket.bucketName,
      PARTNER_ETL_CONFIG_HASH: props.bundle.configHash,
      NODE_OPTIONS: '--enable-source-maps',
    };
    const region = Stack.of(this).region;
    // The platform key only through the services each function calls; no ReEncrypt (none of them re-encrypts).
    const keyThrough = (services: readonly string[]) =>
      new iam.PolicyStatement({
        sid: 'PlatformKeyThroughServices',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [props.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': services.map((service) => `${service}.${region}.amazonaws.com`) } },
      });
    const fn = (name: string, description: string, environment: Record<string, string>, services: readonly string[]) => {
      const role = new iam.Role(this, `${name}Role`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description });
      const logGroup = new logs.LogGroup(this, `${name}Logs`, { retention: props.logRetention, removalPolicy: props.removalPolicy });
      logGroup.grantWrite(role);
      role.addToPrincipalPolicy(keyThrough(services));
      const f = new nodejs.NodejsFunction(this, name, {
        entry: join(REPO_ROOT, 'lambdas/transformer/split-handler.ts'),
        handler: 'handler',
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: props.memoryMiB,
        timeout: TASK_TIMEOUT,
        role,
        logGroup,
        loggingFormat: lambda.LoggingFormat.JSON,
        environment: { ...common, ...environment },
        bundling: bundlingWith(bundlePath),
      });
      return { f, role };
    };
    const coordinator = fn(
      'Coordinator',
      'partner-etl split runs: plan, reduce, failure',
      { LEDGER_TABLE: props.ledgerTable.tableName, EVENT_BUS_NAME: props.eventBus.eventBusName },
      ['s3', 'dynamodb', 'events'],
    );
    const chunk = fn('Chunk', 'partner-etl split runs: one chunk (objects only)', {}, ['s3']);
    this.coordinator = coordinator.f;
    this.chunk = chunk.f;

    props.eventBus.grantPutEventsTo(coordinator.role);
    coordinator.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'FileLedger',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
        resources: [props.ledgerTable.tableArn],
      }),
    );
    const findings: { id: string; reason: string }[] = [];
    for (const feed of props.feeds) {
      const inbound = props.inboundBucket.arnForObjects(`${feed.source.prefix}*`);
      const outputs = props.outputBucket.arnForObjects(`${outputPrefix(feed)}*`);
      const rejects = props.rejectsBucket.arnForObjects(`${rejectsPrefix(feed)}*`);
      const read = new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [inbound] });
      const writeParts = new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: [outputs, rejects] });
      chunk.role.addToPrincipalPolicy(read);
      chunk.role.addToPrincipalPolicy(writeParts);
      coordinator.role.addToPrincipalPolicy(read);
      coordinator.role.addToPrincipalPolicy(writeParts);
      // The coordinator reads the chunk results and rejects parts, removes parts of a FAILED file and the working files.
      coordinator.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:DeleteObject'], resources: [outputs, rejects] }),
      );
      for (const [bucket, prefix] of [
        [props.outputBucket, outputPrefix(feed)],
        [props.rejectsBucket, rejectsPrefix(feed)],
      ] as const) {
        coordinator.role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            actions: ['s3:ListBucket'],
            resources: [bucket.bucketArn],
            conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
          }),
        );
      }
      const reason = `Object keys under ${feed.partner}/${feed.id}'s own locations are not known in advance; the wildcard covers only that prefix.`;
      findings.push(
        { id: wildcardResourceFinding(props.inboundBucket, `/${feed.source.prefix}*`), reason },
        { id: wildcardResourceFinding(props.outputBucket, `/${outputPrefix(feed)}*`), reason },
        { id: wildcardResourceFinding(props.rejectsBucket, `/${rejectsPrefix(feed)}*`), reason },
      );
    }
    acknowledge(coordinator.role, findings);
    acknowledge(chunk.role, findings);

    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    const stack = Stack.of(this);
    // A fixed name: the role's policy names the machine's executions without a reference back to the machine.
    const stateMachineName = `${stack.stackName}-split`;
    const definition = splitDefinition({
      coordinator: coordinator.f.functionArn,
      chunk: chunk.f.functionArn,
      rejectsBucket: props.rejectsBucket.bucketName,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromString(stack.toJsonString(definition)),
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      removalPolicy: props.removalPolicy,
    });
    const machine = this.stateMachine;
    coordinator.f.grantInvoke(machine);
    chunk.f.grantInvoke(machine);
    // The Distributed Map runs child executions of this state machine and reads the plan with its ItemReader.
    const ownArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    machine.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [ownArn] }));
    const executions = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${stateMachineName}/*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    machine.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['states:DescribeExecution', 'states:StopExecution'], resources: [executions] }),
    );
    machine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: props.feeds.map((feed) => props.rejectsBucket.arnForObjects(`${rejectsPrefix(feed)}*`)),
      }),
    );
    props.encryptionKey.grantDecrypt(machine);
    acknowledge(machine, [
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${stateMachineName}/*]`,
        reason: "The Distributed Map's child executions of this state machine; their names are made at run time.",
      },
      ...[coordinator.f, chunk.f].map((f) => ({
        id: wildcardResourceFinding(f, ':*'),
        reason: "Invoking the split functions' versions (grantInvoke); only these two functions.",
      })),
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray trace segments and CloudWatch Logs delivery, which take no resource-level permissions.',
      },
      ...props.feeds.map((feed) => ({
        id: wildcardResourceFinding(props.rejectsBucket, `/${rejectsPrefix(feed)}*`),
        reason: `The plan of a split file of ${feed.partner}/${feed.id}, read by the map's ItemReader; keys are made per file.`,
      })),
    ]);

    // (The transformer lists a split feed's output parts with its feed's credentials: feed-access-policy.ts.)
    machine.grantStartExecution(props.transformerRole);

    // An execution that ends FAILED, TIMED_OUT or ABORTED without recording the file (a stop by hand, a
    // timeout, the failure step itself failing) is recorded FAILED from its input; idempotent otherwise.
    const deadLetters = new sqs.Queue(this, 'FailureRuleDeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy,
    });
    acknowledge(deadLetters, [{ id: 'AwsSolutions-SQS3', reason: 'This is the dead-letter queue of the failure rule target.' }]);
    new events.Rule(this, 'ExecutionEnded', {
      description: 'A split run that ended without recording its file: record it FAILED',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [machine.stateMachineArn] },
      },
      targets: [
        new targets.LambdaFunction(coordinator.f, {
          event: events.RuleTargetInput.fromObject({
            step: 'fail',
            input: events.EventField.fromPath('$.detail.input'),
            cause: events.EventField.fromPath('$.detail.status'),
          }),
          deadLetterQueue: deadLetters,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });
  }
}
