/**
 * The compute side of a chaos run, in its own process so the driver can SIGKILL it: the real
 * handler, polling the feed queues on the driver's emulators, with crashes at random handler steps
 * and throttled or slow S3 and DynamoDB calls. The emulators stand for AWS's managed services and
 * live on in the driver; this process stands for Lambda and dies.
 */
import { appendFileSync } from 'node:fs';
import { S3ObjectStore } from '../../lambdas/transformer/adapters/s3-object-store.js';
import { compileFeeds } from '../../lambdas/transformer/compile-feeds.js';
import { createHandler } from '../../lambdas/transformer/create-handler.js';
import { DynamoDbFileLedger } from '../../lambdas/transformer/ledger/dynamodb-ledger.js';
import { createBundle } from '../config/bundle.js';
import { requireValidConfig } from '../config/load-config.js';
import { MAX_RECEIVE_COUNT } from '../config/queue-settings.js';
import { ChaosFaults, seededRandom, withChaos } from './chaos-faults.js';
import { clientsFor } from './emulators.js';
import { startPollers } from './pollers.js';
import { withPortFaults } from './port-faults.js';

export interface RunnerSetup {
  readonly root: string;
  readonly endpoints: { s3: string; sqs: string; dynamodb: string };
  readonly tableName: string;
  readonly buckets: { inbound: string; output: string; rejects: string };
  /** `partner/feed` -> queue URL. */
  readonly queues: Record<string, string>;
  readonly seed: number;
  readonly crashRate: number;
  readonly throttleRate: number;
  readonly slowRate: number;
  readonly timeoutSeconds: number;
  readonly poisonMarker: string;
  readonly faultLog: string;
  readonly eventLog: string;
  /** One line per delivery the handler received, per result it reported, per message it failed. */
  readonly deliveryLog: string;
}

const setup = JSON.parse(process.argv[2]!) as RunnerSetup;
const bundle = createBundle(requireValidConfig(setup.root));
const faultOptions = {
  crashRate: setup.crashRate,
  throttleRate: setup.throttleRate,
  slowRate: setup.slowRate,
  slowMs: 300,
  isPoison: (key: string) => key.includes(setup.poisonMarker),
  random: seededRandom(setup.seed),
  logFile: setup.faultLog,
};
const clients = clientsFor(setup.endpoints);
// Appended synchronously, so a SIGKILL loses nothing already reported.
const note = (entry: Record<string, unknown>) => appendFileSync(setup.deliveryLog, `${JSON.stringify(entry)}\n`);
const ports = withPortFaults(
  {
    ledger: new DynamoDbFileLedger(withChaos(clients.dynamodb, faultOptions, 'DynamoDB'), setup.tableName),
    store: new S3ObjectStore(withChaos(clients.s3, faultOptions, 'S3')),
    events: {
      async publish(detailType: string, detail: Record<string, unknown>) {
        appendFileSync(setup.eventLog, `${JSON.stringify({ detailType, detail })}\n`);
      },
    },
  },
  new ChaosFaults(faultOptions),
);
const handler = createHandler(
  {
    config: bundle.config,
    configHash: bundle.configHash,
    feeds: compileFeeds(bundle.config),
    inboundBucket: setup.buckets.inbound,
    outputBucket: setup.buckets.output,
    rejectsBucket: setup.buckets.rejects,
    ...ports,
    maxReceiveCount: MAX_RECEIVE_COUNT,
  },
  {
    finished: (result, object) =>
      note({
        result: result.kind,
        key: object.key,
        sequencer: object.sequencer,
        ...(result.kind === 'processed' ? { status: result.status, attempt: result.attempt } : {}),
      }),
    failed: (error) =>
      note({ failed: error instanceof Error ? error.name : typeof error, message: String((error as Error)?.message ?? error) }),
    stepFailed: (step, error, object) =>
      note({ stepFailed: step, key: object.key, error: error instanceof Error ? error.name : typeof error }),
  },
);
const delivered: typeof handler = (event, context) => {
  for (const record of event.Records) {
    try {
      const object = (JSON.parse(record.body) as { detail: { object: { key: string; sequencer: string } } }).detail.object;
      note({ delivery: object.key, sequencer: object.sequencer, receives: Number(record.attributes.ApproximateReceiveCount) });
    } catch (err) {
      note({ delivery: null, error: String(err) });
    }
  }
  return handler(event, context);
};
const pollers = startPollers({
  sqs: clients.sqs,
  queues: Object.values(setup.queues).map((url) => ({ url, concurrency: 3 })),
  handler: delivered,
  timeoutSeconds: setup.timeoutSeconds,
  log: (line) => process.stderr.write(`${line}\n`),
});
process.once('SIGTERM', () => {
  void pollers.stop().then(() => process.exit(0));
});
process.stdout.write('ready\n');
