import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { PlatformBundle } from '../../lambdas/transformer/bundle.js';
import { listFeeds } from '../../lambdas/transformer/model.js';
import { scheduledFeeds } from '../../lambdas/transformer/overdue.js';
import { FeedAccess } from './constructs/feed-access.js';
import { FeedQueue } from './constructs/feed-queue.js';
import { FileLedgerTable } from './constructs/file-ledger-table.js';
import { Monitoring } from './constructs/monitoring.js';
import { OverdueChecks } from './constructs/overdue-checks.js';
import { PartnerUpload } from './constructs/partner-upload.js';
import { SftpServer, sftpUserName } from './constructs/partner-sftp.js';
import { PlatformKey } from './constructs/platform-key.js';
import { SecureBucket } from './constructs/secure-bucket.js';
import { SplitStateMachine } from './constructs/split-state-machine.js';
import { TransformerFunction } from './constructs/transformer-function.js';
import { STACK_OUTPUTS } from './stack-outputs.js';

export { STACK_OUTPUTS, stackNameOf } from './stack-outputs.js';

export type Stage = 'dev' | 'prod';

export interface PartnerEtlStackProps extends StackProps {
  readonly bundle: PlatformBundle;
  readonly stage: Stage;
  /** Transformer memory; default 2048 MiB (more memory is more CPU). */
  readonly memoryMiB?: number;
  /** Transformer timeout; default 900 s, the Lambda maximum, for whole files. */
  readonly timeoutSeconds?: number;
}

/** The whole platform for one stage; every partner and feed comes from the bundle. */
export class PartnerEtlStack extends Stack {
  constructor(scope: Construct, id: string, props: PartnerEtlStackProps) {
    super(scope, id, props);
    // Server access logs are granted by a bucket policy (source bucket and account as conditions), not
    // by the legacy LogDeliveryWrite ACL (cfn-lint W3045). Set here, before any bucket exists, so
    // `cdk synth`, the tests and the rehearsal build the same template.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const prod = props.stage === 'prod';
    const removalPolicy = prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const timeout = Duration.seconds(props.timeoutSeconds ?? 900);
    const { config } = props.bundle;

    const key = new PlatformKey(this, 'PlatformKey', { namePrefix: `partner-etl-${props.stage}`, removalPolicy }).key;

    const accessLogs = new s3.Bucket(this, 'AccessLogsBucket', {
      // S3 log delivery writes only to SSE-S3 buckets.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-logs', expiration: Duration.days(prod ? 365 : 30) }],
      removalPolicy,
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket; logging it into itself would loop.',
    });
    const bucketProps = { encryptionKey: key, accessLogs, removalPolicy, noncurrentVersionDays: prod ? 90 : 7 };
    const inbound = new SecureBucket(this, 'InboundBucket', { ...bucketProps, eventBridgeEnabled: true }).bucket;
    const output = new SecureBucket(this, 'OutputBucket', bucketProps).bucket;
    const rejects = new SecureBucket(this, 'RejectsBucket', bucketProps).bucket;
    const ledger = new FileLedgerTable(this, 'LedgerTable', { encryptionKey: key, removalPolicy }).table;
    const bus = new events.EventBus(this, 'EventBus', { eventBusName: `partner-etl-${props.stage}`, kmsKey: key });

    const transformer = new TransformerFunction(this, 'Transformer', {
      bundle: props.bundle,
      encryptionKey: key,
      inboundBucket: inbound,
      outputBucket: output,
      rejectsBucket: rejects,
      ledgerTable: ledger,
      eventBus: bus,
      memoryMiB: props.memoryMiB ?? 2048,
      timeout,
      logRetention: prod ? logs.RetentionDays.ONE_YEAR : logs.RetentionDays.ONE_MONTH,
      removalPolicy,
    });

    // Only when some feed splits its large files: the split state machine and its functions.
    const splitFeeds = listFeeds(config).filter((feed) => feed.split);
    if (splitFeeds.length > 0) {
      const split = new SplitStateMachine(this, 'Split', {
        bundle: props.bundle,
        feeds: splitFeeds,
        encryptionKey: key,
        inboundBucket: inbound,
        outputBucket: output,
        rejectsBucket: rejects,
        ledgerTable: ledger,
        eventBus: bus,
        transformerRole: transformer.role,
        memoryMiB: props.memoryMiB ?? 2048,
        logRetention: prod ? logs.RetentionDays.ONE_YEAR : logs.RetentionDays.ONE_MONTH,
        removalPolicy,
      });
      transformer.function.addEnvironment('SPLIT_STATE_MACHINE_ARN', split.stateMachine.stateMachineArn);
    }

    const monitored = listFeeds(config).map((feed) => {
      const name = `${feed.partner}-${feed.id}`;
      const feedQueue = new FeedQueue(this, `Feed-${name}`, {
        feed,
        inboundBucket: inbound,
        encryptionKey: key,
        handler: transformer.function,
        functionTimeout: timeout,
        removalPolicy,
      });
      new FeedAccess(this, `FeedAccess-${name}`, {
        feed,
        feedAccessRole: transformer.feedAccessRole,
        transformerRole: transformer.role,
        queue: feedQueue.queue,
        inboundBucket: inbound,
        outputBucket: output,
        rejectsBucket: rejects,
        encryptionKey: key,
      });
      return { feed, queue: feedQueue.queue, deadLetterQueue: feedQueue.deadLetterQueue };
    });

    // A partner's way in: a write-only upload role, for the partners whose file names principals.
    const uploadRoles = config.partners
      .filter((partner) => partner.access?.iamPrincipals?.length)
      .map((partner) => ({
        partner,
        role: new PartnerUpload(this, `Upload-${partner.id}`, {
          partner,
          inboundBucket: inbound,
          encryptionKey: key,
          rejectsBucket: rejects,
        }).role,
      }));
    // Only when some partner asks for SFTP: one Transfer Family server (it costs by the hour), a user per such partner.
    const sftpPartners = config.partners.filter((partner) => partner.access?.sftp);
    const sftp =
      sftpPartners.length > 0
        ? new SftpServer(this, 'Sftp', {
            partners: sftpPartners,
            inboundBucket: inbound,
            encryptionKey: key,
            logRetention: prod ? logs.RetentionDays.ONE_YEAR : logs.RetentionDays.ONE_MONTH,
            removalPolicy,
          })
        : undefined;

    const monitoring = new Monitoring(this, 'Monitoring', {
      partners: config.partners,
      feeds: monitored,
      function: transformer.function,
      functionTimeout: timeout,
      encryptionKey: key,
      dashboardName: `partner-etl-${props.stage}`,
    });

    // Only when some feed declares a schedule: its deadlines checked by EventBridge Scheduler.
    const scheduled = scheduledFeeds(listFeeds(config));
    if (scheduled.length > 0) {
      new OverdueChecks(this, 'OverdueChecks', {
        bundle: props.bundle,
        feeds: scheduled,
        ledgerTable: ledger,
        eventBus: bus,
        encryptionKey: key,
        partnerTopics: monitoring.partnerTopics,
        platformTopic: monitoring.alarmTopic,
        logRetention: prod ? logs.RetentionDays.ONE_YEAR : logs.RetentionDays.ONE_MONTH,
        removalPolicy,
      });
    }

    new CfnOutput(this, STACK_OUTPUTS.inboundBucket, {
      value: inbound.bucketName,
      description: 'Partners upload here, under their feed prefixes',
    });
    new CfnOutput(this, STACK_OUTPUTS.outputBucket, {
      value: output.bucketName,
      description: 'Validated records: <dataset>/partner=<p>/feed=<f>/date=<d>/',
    });
    new CfnOutput(this, STACK_OUTPUTS.rejectsBucket, {
      value: rejects.bucketName,
      description: 'Rejected rows and file summaries: <partner>/<feed>/date=<d>/',
    });
    new CfnOutput(this, STACK_OUTPUTS.ledgerTable, { value: ledger.tableName, description: 'The file ledger' });
    new CfnOutput(this, STACK_OUTPUTS.eventBus, { value: bus.eventBusName, description: 'FileProcessed and FileFailed events' });
    new CfnOutput(this, STACK_OUTPUTS.alarmTopic, { value: monitoring.alarmTopic.topicArn, description: 'Platform alarms' });
    new CfnOutput(this, STACK_OUTPUTS.uploadRoles, {
      value: this.toJsonString(Object.fromEntries(uploadRoles.map((u) => [u.partner.id, u.role.roleArn]))),
      description: 'partner -> the write-only role its principals assume to upload (aws s3 cp ... --profile <that role>)',
    });
    if (sftp) {
      new CfnOutput(this, STACK_OUTPUTS.sftpEndpoint, { value: sftp.endpoint, description: 'SFTP host partners upload to' });
      new CfnOutput(this, STACK_OUTPUTS.sftpUsers, {
        value: JSON.stringify(Object.fromEntries(sftpPartners.map((partner) => [partner.id, sftpUserName(partner)]))),
        description: "partner -> its SFTP user name (home: the partner's prefix in the inbound bucket)",
      });
    }
    new CfnOutput(this, STACK_OUTPUTS.feedQueues, {
      value: this.toJsonString(Object.fromEntries(monitored.map((m) => [`${m.feed.partner}/${m.feed.id}`, m.queue.queueUrl]))),
      description: 'partner/feed -> queue URL, for partner-etl reprocess',
    });
  }
}
