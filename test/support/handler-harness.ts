import { randomUUID } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { SQSEvent } from 'aws-lambda';
import type { EventPublisher, ObjectStore } from '../../lambdas/transformer/adapters/object-store.js';
import { S3ObjectStore } from '../../lambdas/transformer/adapters/s3-object-store.js';
import { compileFeeds } from '../../lambdas/transformer/compile-feeds.js';
import { createHandler, type SqsHandler, type Telemetry } from '../../lambdas/transformer/create-handler.js';
import type { ObjectCreated } from '../../lambdas/transformer/intake.js';
import { DynamoDbFileLedger } from '../../lambdas/transformer/ledger/dynamodb-ledger.js';
import type { FeedConfig, PlatformConfig } from '../../lambdas/transformer/model.js';
import { createBundle } from '../../platform/config/bundle.js';
import { MAX_RECEIVE_COUNT } from '../../platform/config/queue-settings.js';
import { startEmulators, type Emulators } from '../../platform/local/emulators.js';
import { createBuckets, createLedgerTable } from '../../platform/local/provision.js';
import { withPortFaults, type FaultTiming, type PortCall, type PortFaults } from '../../platform/local/port-faults.js';
import { nextSequencer, objectCreatedEvent } from '../../platform/local/s3-events.js';

/** Faults armed by a test: the next `times` calls of a port fail, before or after they take effect. */
export class ArmedFaults implements PortFaults {
  private armed = new Map<PortCall, { timing: FaultTiming; left: number }>();
  /** Calls made per port, armed or not. */
  readonly calls = new Map<PortCall, number>();
  arm(call: PortCall, timing: FaultTiming, times = 1): void {
    this.armed.set(call, { timing, left: times });
  }
  inject(call: PortCall): FaultTiming | undefined {
    this.calls.set(call, (this.calls.get(call) ?? 0) + 1);
    const armed = this.armed.get(call);
    if (!armed || armed.left === 0) return undefined;
    armed.left--;
    return armed.timing;
  }
}

/** Events as they would reach the bus (there is no EventBridge emulator: the bus is the one thing recorded). */
export class RecordedEvents implements EventPublisher {
  readonly events: { detailType: string; detail: Record<string, unknown> }[] = [];
  async publish(detailType: string, detail: Record<string, unknown>): Promise<void> {
    this.events.push({ detailType, detail });
  }
}

export interface Harness {
  readonly emulators: Emulators;
  readonly handler: SqsHandler;
  readonly ledger: DynamoDbFileLedger;
  readonly faults: ArmedFaults;
  readonly events: RecordedEvents;
  readonly failures: unknown[];
  /** Cleanup steps that failed after a failed attempt, as the telemetry reported them. */
  readonly stepFailures: { step: string; key: string; error: unknown }[];
  readonly buckets: { inbound: string; output: string; rejects: string };
  upload(key: string, body: string | Uint8Array): Promise<ObjectCreated>;
  sqsEvent(...bodies: string[]): SQSEvent;
  /** The same, as the queue's last delivery before its dead-letter queue. */
  lastDelivery(body: string): SQSEvent;
  bodyOf(object: ObjectCreated): string;
  invoke(event: SQSEvent, remainingMs?: number): ReturnType<SqsHandler>;
  listKeys(bucket: string, prefix?: string): Promise<string[]>;
  read(bucket: string, key: string): Promise<string>;
  stop(): Promise<void>;
}

/** The real handler on the emulators, with the repository's (or a given) config. */
export async function startHarness(
  config: PlatformConfig,
  options: { telemetry?: Telemetry; storeFor?: (store: ObjectStore) => (feed: FeedConfig) => ObjectStore } = {},
): Promise<Harness> {
  const emulators = await startEmulators();
  const buckets = { inbound: 'inbound', output: 'output', rejects: 'rejects' };
  await createBuckets(emulators.s3, Object.values(buckets));
  await createLedgerTable(emulators.dynamodb, 'ledger');
  const bundle = createBundle(config);
  const ledger = new DynamoDbFileLedger(emulators.dynamodb, 'ledger');
  const faults = new ArmedFaults();
  const events = new RecordedEvents();
  const failures: unknown[] = [];
  const stepFailures: { step: string; key: string; error: unknown }[] = [];
  const telemetry: Telemetry = options.telemetry ?? {
    finished: () => undefined,
    failed: (err) => failures.push(err),
    stepFailed: (step, error, object) => stepFailures.push({ step, key: object.key, error }),
  };
  const handler = createHandler(
    {
      config: bundle.config,
      configHash: bundle.configHash,
      feeds: compileFeeds(bundle.config),
      inboundBucket: buckets.inbound,
      outputBucket: buckets.output,
      rejectsBucket: buckets.rejects,
      ...withPortFaults({ ledger, store: new S3ObjectStore(emulators.s3), events }, faults),
      maxReceiveCount: MAX_RECEIVE_COUNT,
      ...(options.storeFor ? { storeFor: options.storeFor(new S3ObjectStore(emulators.s3)) } : {}),
    },
    telemetry,
  );
  const s3 = emulators.s3;
  const sqsEvent = (...bodies: string[]): SQSEvent => ({
    Records: bodies.map((body) => ({
      messageId: randomUUID(),
      receiptHandle: randomUUID(),
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:feed',
      awsRegion: 'us-east-1',
    })),
  });
  return {
    emulators,
    handler,
    ledger,
    faults,
    events,
    failures,
    stepFailures,
    buckets,
    async upload(key, body) {
      const put = await s3.send(new PutObjectCommand({ Bucket: buckets.inbound, Key: key, Body: body }));
      const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
      return {
        bucket: buckets.inbound,
        key,
        etag: (put.ETag ?? '').replace(/"/g, ''),
        size,
        sequencer: nextSequencer(),
        time: new Date().toISOString(),
        ...(put.VersionId ? { versionId: put.VersionId } : {}),
      };
    },
    bodyOf: (object) => JSON.stringify(objectCreatedEvent(object)),
    lastDelivery(body) {
      const event = sqsEvent(body);
      event.Records[0]!.attributes.ApproximateReceiveCount = String(MAX_RECEIVE_COUNT);
      return event;
    },
    sqsEvent,
    invoke: (event, remainingMs = 60_000) => {
      const deadline = Date.now() + remainingMs;
      return handler(event, { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => deadline - Date.now() });
    },
    async listKeys(bucket, prefix) {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        out.push(...(page.Contents ?? []).map((c) => c.Key!));
        token = page.NextContinuationToken;
      } while (token);
      return out.sort();
    },
    async read(bucket, key) {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return got.Body!.transformToString();
    },
    stop: () => emulators.stop(),
  };
}
