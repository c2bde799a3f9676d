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
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { EventBridgePublisher } from './adapters/eventbridge-publisher.js';
import { S3ObjectStore } from './adapters/s3-object-store.js';
import { StepFunctionsSplitRunner } from './adapters/sfn-split-runner.js';
import { BUNDLE_FILE, parseBundle } from './bundle.js';
import { createHandler } from './create-handler.js';
import { compileFeeds } from './compile-feeds.js';
import { DynamoDbFileLedger } from './ledger/dynamodb-ledger.js';
import { powertoolsTelemetry } from './telemetry.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
};

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
    // Set only when some feed splits its large files (the stack then has the split state machine).
    ...(process.env.SPLIT_STATE_MACHINE_ARN
      ? { split: new StepFunctionsSplitRunner(new SFNClient({}), process.env.SPLIT_STATE_MACHINE_ARN) }
      : {}),
  },
  powertoolsTelemetry(logger, metrics),
);
