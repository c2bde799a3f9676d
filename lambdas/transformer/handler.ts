/**
 * The Lambda entry point: wiring only. The bundle, the compiled feeds and the AWS clients are built
 * once per container; region, credentials and endpoints come from the standard SDK environment
 * (AWS_ENDPOINT_URL_S3 etc. point it at the local emulators).
 */
import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { STSClient } from '@aws-sdk/client-sts';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { EventBridgePublisher } from './adapters/eventbridge-publisher.js';
import { FeedCredentials } from './adapters/feed-credentials.js';
import type { ObjectStore } from './adapters/object-store.js';
import { S3ObjectStore } from './adapters/s3-object-store.js';
import { StepFunctionsSplitRunner } from './adapters/sfn-split-runner.js';
import { BUNDLE_FILE, parseBundle } from './bundle.js';
import { createHandler } from './create-handler.js';
import { compileFeeds } from './compile-feeds.js';
import { bucketArn, feedSessionPolicy } from './feed-access-policy.js';
import { DynamoDbFileLedger } from './ledger/dynamodb-ledger.js';
import type { FeedConfig } from './model.js';
import { powertoolsTelemetry } from './telemetry.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
};

/**
 * Each file is handled with its feed's credentials: the function's own role may touch no bucket,
 * only assume the feed-access role with a session policy of that feed's prefixes (cached per feed).
 */
function feedScopedStores(roleArn: string, keyArn: string): (feed: FeedConfig) => ObjectStore {
  const partition = roleArn.split(':')[1]!;
  const at = {
    inboundBucketArn: bucketArn(partition, env('INBOUND_BUCKET')),
    outputBucketArn: bucketArn(partition, env('OUTPUT_BUCKET')),
    rejectsBucketArn: bucketArn(partition, env('REJECTS_BUCKET')),
    keyArn,
  };
  const credentials = new FeedCredentials(new STSClient({}), roleArn, (feed) => feedSessionPolicy(feed, at));
  const stores = new Map<string, ObjectStore>();
  return (feed) => {
    const name = `${feed.partner}/${feed.id}`;
    let store = stores.get(name);
    if (!store) stores.set(name, (store = new S3ObjectStore(new S3Client({ credentials: () => credentials.for(feed) }))));
    return store;
  };
}

const bundle = parseBundle(readFileSync(new URL(`./${BUNDLE_FILE}`, import.meta.url), 'utf8'));
const logger = new Logger({ serviceName: 'partner-etl' });
const metrics = new Metrics({ serviceName: 'partner-etl' });

export const handler = createHandler(
  {
    config: bundle.config,
    configHash: bundle.configHash,
    feeds: compileFeeds(bundle.config),
    inboundBucket: env('INBOUND_BUCKET'),
    outputBucket: env('OUTPUT_BUCKET'),
    rejectsBucket: env('REJECTS_BUCKET'),
    ledger: new DynamoDbFileLedger(new DynamoDBClient({}), env('LEDGER_TABLE')),
    store: new S3ObjectStore(new S3Client({})),
    events: new EventBridgePublisher(new EventBridgeClient({}), env('EVENT_BUS_NAME')),
    maxReceiveCount: Number(env('MAX_RECEIVE_COUNT')),
    // Set by the stack; unset (every file on the function's own credentials) only outside AWS.
    ...(process.env.FEED_ACCESS_ROLE_ARN ? { storeFor: feedScopedStores(process.env.FEED_ACCESS_ROLE_ARN, env('PLATFORM_KEY_ARN')) } : {}),
    // Set only when some feed splits its large files (the stack then has the split state machine).
    ...(process.env.SPLIT_STATE_MACHINE_ARN
      ? { split: new StepFunctionsSplitRunner(new SFNClient({}), process.env.SPLIT_STATE_MACHINE_ARN) }
      : {}),
  },
  powertoolsTelemetry(logger, metrics),
);
