import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { BUNDLE_FILE, type PlatformBundle } from '../../../lambdas/transformer/bundle.js';
import { platformKeyThroughS3 } from '../../../lambdas/transformer/feed-access-policy.js';
import { METRICS } from '../../../lambdas/transformer/metrics-names.js';
import { MAX_RECEIVE_COUNT } from '../../config/queue-settings.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface TransformerFunctionProps {
  /** The validated partner configs the function carries. */
  readonly bundle: PlatformBundle;
  readonly encryptionKey: kms.IKey;
  readonly inboundBucket: s3.IBucket;
  readonly outputBucket: s3.IBucket;
  readonly rejectsBucket: s3.IBucket;
  readonly ledgerTable: dynamodb.ITable;
  readonly eventBus: events.IEventBus;
  readonly memoryMiB: number;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The one generic transformer Lambda: bundled by local esbuild (no Docker), the current Node.js
 * runtime on arm64, the validated partner bundle copied beside the code and its hash in the
 * environment. Its role holds only what every feed needs (ledger, bus, logs, the feed queues) and
 * may touch no bucket: each file is handled with credentials of the feed-access role, assumed with
 * that file's feed's session policy (`feed-access-policy.ts`); each feed's statements are a policy
 * of their own on that role (`FeedAccess`).
 */
export class TransformerFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  /** Assumed per file, narrowed to the file's feed by a session policy. */
  readonly feedAccessRole: iam.Role;

  constructor(scope: Construct, id: string, props: TransformerFunctionProps) {
    super(scope, id);
    const bundlePath = writeBundle(props.bundle);
    const logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'partner-etl transformer: ledger, bus and queues; buckets only through the feed-access role',
    });
    this.feedAccessRole = new iam.Role(this, 'FeedAccessRole', {
      assumedBy: new iam.ArnPrincipal(this.role.roleArn),
      maxSessionDuration: Duration.hours(1),
      description: "partner-etl: a file's feed's S3 locations, assumed by the transformer with that feed's session policy",
    });
    this.feedAccessRole.addToPrincipalPolicy(iam.PolicyStatement.fromJson(platformKeyThroughS3(props.encryptionKey.keyArn)));
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'AssumeFeedAccess', actions: ['sts:AssumeRole'], resources: [this.feedAccessRole.roleArn] }),
    );
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: join(REPO_ROOT, 'lambdas/transformer/handler.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memoryMiB,
      timeout: props.timeout,
      role: this.role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        LEDGER_TABLE: props.ledgerTable.tableName,
        INBOUND_BUCKET: props.inboundBucket.bucketName,
        OUTPUT_BUCKET: props.outputBucket.bucketName,
        REJECTS_BUCKET: props.rejectsBucket.bucketName,
        EVENT_BUS_NAME: props.eventBus.eventBusName,
        FEED_ACCESS_ROLE_ARN: this.feedAccessRole.roleArn,
        PLATFORM_KEY_ARN: props.encryptionKey.keyArn,
        PARTNER_ETL_CONFIG_HASH: props.bundle.configHash,
        MAX_RECEIVE_COUNT: String(MAX_RECEIVE_COUNT),
        POWERTOOLS_SERVICE_NAME: 'partner-etl',
        POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: bundlingWith(bundlePath),
    });
    // cfn-lint W3005, acknowledged: lambda.Function makes itself depend on its role (a construct
    // dependency, rendered as DependsOn beside the GetAtt of Properties.Role that already orders
    // them). Redundant and harmless; it cannot be removed without reaching into the CDK's wiring.
    (this.function.node.defaultChild as lambda.CfnFunction).addMetadata('cfn-lint', { config: { ignore_checks: ['W3005'] } });
    logGroup.grantWrite(this.role);
    props.eventBus.grantPutEventsTo(this.role);
    const region = Stack.of(this).region;
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // The ledger table, the event bus and the feed queues are encrypted with the platform key; no
        // ReEncrypt: none of these services re-encrypts with the caller's permissions.
        sid: 'PlatformKeyThroughLedgerBusAndQueues',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [props.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': ['dynamodb', 'events', 'sqs'].map((s) => `${s}.${region}.amazonaws.com`) } },
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // What the ledger adapter calls for a file (claim, complete, release... are updates; history a
        // query on the table); the byPartner/byStatus indexes serve the operators' `status`, not the function.
        sid: 'FileLedger',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
        resources: [props.ledgerTable.tableArn],
      }),
    );
  }
}

/** Writes the bundle where the esbuild hook can copy it from; the path is content-addressed. */
export function writeBundle(bundle: PlatformBundle): string {
  const dir = join(tmpdir(), 'partner-etl-bundles');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${bundle.configHash}.json`);
  writeFileSync(path, JSON.stringify(bundle));
  return path;
}

/** How every partner-etl function is bundled: local esbuild, ESM, the SDK inside, the partner bundle copied beside the code. */
export function bundlingWith(bundlePath: string): nodejs.BundlingOptions {
  return {
    format: nodejs.OutputFormat.ESM,
    target: 'node24',
    sourceMap: true,
    // Stack traces map to the TypeScript lines; the sources themselves would only make the map
    // Node parses at start-up (--enable-source-maps) twice as large (bench/cold-start.ts).
    sourcesContent: false,
    minify: true,
    // The SDK bundled in, not taken from the runtime: one parsed file instead of hundreds of
    // CommonJS modules loaded one by one (a quarter off the cold start), and a pinned version.
    externalModules: [],
    mainFields: ['module', 'main'],
    // ESM output: give bundled CommonJS dependencies a require()
    banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
    forceDockerBundling: false,
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (_input: string, output: string) => [`cp "${bundlePath}" "${output}/${BUNDLE_FILE}"`],
    },
  };
}
