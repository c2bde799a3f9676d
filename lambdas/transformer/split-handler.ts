/**
 * The split state machine's tasks, wiring only (as handler.ts): `plan`, `chunk`, `reduce` and `fail`
 * (from the state machine's catch, or from the rule that sees an execution fail, time out or be
 * stopped). The chunk function's role reads and writes objects only; it never touches the ledger.
 */
import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { EventBridgePublisher } from './adapters/eventbridge-publisher.js';
import { S3ObjectStore } from './adapters/s3-object-store.js';
import { BUNDLE_FILE, parseBundle } from './bundle.js';
import { compileFeeds } from './compile-feeds.js';
import type { SplitChunk } from './engine/split.js';
import { DynamoDbFileLedger } from './ledger/dynamodb-ledger.js';
import { chunkStep, failStep, planStep, reduceStep, type PlannedRun, type SplitDeps } from './split/split-run.js';
import type { SplitRunInput } from './split/split-runner.js';

export type SplitTask =
  | { readonly step: 'plan'; readonly input: SplitRunInput }
  | { readonly step: 'chunk'; readonly run: PlannedRun; readonly chunk: SplitChunk }
  | { readonly step: 'reduce'; readonly run: PlannedRun }
  /** `input`: the run (an object), or the execution's input as the status-change event carries it (a string). */
  | { readonly step: 'fail'; readonly input: SplitRunInput | string; readonly cause: unknown };

const env = (name: string): string | undefined => process.env[name];
const bundle = parseBundle(readFileSync(new URL(`./${BUNDLE_FILE}`, import.meta.url), 'utf8'));
const deps: SplitDeps = {
  config: bundle.config,
  configHash: bundle.configHash,
  feeds: compileFeeds(bundle.config),
  inboundBucket: env('INBOUND_BUCKET')!,
  outputBucket: env('OUTPUT_BUCKET')!,
  rejectsBucket: env('REJECTS_BUCKET')!,
  // The chunk function has no table and no bus: they are built only where configured.
  ledger: env('LEDGER_TABLE') ? new DynamoDbFileLedger(new DynamoDBClient({}), env('LEDGER_TABLE')!) : (undefined as never),
  store: new S3ObjectStore(new S3Client({})),
  events: env('EVENT_BUS_NAME') ? new EventBridgePublisher(new EventBridgeClient({}), env('EVENT_BUS_NAME')!) : (undefined as never),
};

export async function handler(task: SplitTask): Promise<unknown> {
  switch (task.step) {
    case 'plan':
      return planStep(deps, task.input);
    case 'chunk':
      return chunkStep(deps, task.run, task.chunk);
    case 'reduce':
      await reduceStep(deps, task.run);
      return { done: true };
    case 'fail': {
      const input = typeof task.input === 'string' ? (JSON.parse(task.input) as SplitRunInput) : task.input;
      await failStep(deps, input, typeof task.cause === 'string' ? task.cause : JSON.stringify(task.cause).slice(0, 1000));
      return { done: true };
    }
  }
}
