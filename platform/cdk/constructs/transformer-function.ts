import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge, wildcardResourceFinding } from '../nag.js';
import { BUNDLE_FILE, type PlatformBundle } from '../../../lambdas/transformer/bundle.js';
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
 * environment. Its role holds only what every feed needs (ledger, bus, key, logs); each feed's
 * access is a policy of its own (`FeedAccess`).
 */
export class TransformerFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: TransformerFunctionProps) {
    super(scope, id);
    const bundlePath = writeBundle(props.bundle);
    const logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'partner-etl transformer: per-feed access is in the FeedAccess policies',
    });
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
        PARTNER_ETL_CONFIG_HASH: props.bundle.configHash,
        MAX_RECEIVE_COUNT: String(MAX_RECEIVE_COUNT),
        POWERTOOLS_SERVICE_NAME: 'partner-etl',
        POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: bundlingWith(bundlePath),
    });
    logGroup.grantWrite(this.role);
    props.encryptionKey.grantEncryptDecrypt(this.role);
    props.eventBus.grantPutEventsTo(this.role);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'FileLedger',
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
        resources: [props.ledgerTable.tableArn, `${props.ledgerTable.tableArn}/index/*`],
      }),
    );
    acknowledge(this.role, [
      {
        id: wildcardResourceFinding(props.ledgerTable, '/index/*'),
        reason: "The ledger's own query indexes (byPartner, byStatus, byDay); index names are part of the table design.",
      },
      {
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason: 'SSE-KMS writes on the platform key only (grantEncryptDecrypt); no other key is reachable.',
      },
      {
        id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
        reason: 'SSE-KMS on the platform key only (grantEncryptDecrypt); no other key is reachable.',
      },
    ]);
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
