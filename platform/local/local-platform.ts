import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { EventPublisher } from '../../lambdas/transformer/adapters/object-store.js';
import { S3ObjectStore } from '../../lambdas/transformer/adapters/s3-object-store.js';
import { compileFeeds } from '../../lambdas/transformer/compile-feeds.js';
import { createHandler, type Telemetry } from '../../lambdas/transformer/create-handler.js';
import type { ObjectCreated } from '../../lambdas/transformer/intake.js';
import type { FileWarning } from '../../lambdas/transformer/engine/header-drift.js';
import { DynamoDbFileLedger } from '../../lambdas/transformer/ledger/dynamodb-ledger.js';
import { FINAL_STATUSES, type FileRecord } from '../../lambdas/transformer/ledger/file-ledger.js';
import { listFeeds, type FeedConfig, type PlatformConfig } from '../../lambdas/transformer/model.js';
import { rejectReportKeys } from '../../lambdas/transformer/output-keys.js';
import { MAX_RECEIVE_COUNT } from '../config/queue-settings.js';
import { createBundle } from '../config/bundle.js';
import { configStamp } from './config-stamp.js';
import { feedEventPattern } from '../config/feed-pattern.js';
import { findGoldenCases, sampleKey } from '../config/golden.js';
import { loadPlatformConfig, requireValidConfig } from '../config/load-config.js';
import type { ConfigProblem } from '../config/problems.js';
import { startEmulators, type Emulators } from './emulators.js';
import { startPollers } from './pollers.js';
import { startSplitPool } from './split-pool.js';
import { matchesPattern } from './event-pattern.js';
import { startOverdueWatch, SYSTEM_CLOCK, type Clock } from './overdue-watch.js';
import { withPortFaults, type PortFaults } from './port-faults.js';
import { createBuckets, createLedgerTable } from './provision.js';
import { nextSequencer, objectCreatedEvent } from './s3-events.js';
import { clearState, dynamoDataPath, LOCAL_NAMES, rememberRoot, writeState } from './state.js';

export interface LocalPlatformOptions {
  readonly root: string;
  readonly inbox: string;
  readonly outbox: string;
  readonly stateDir: string;
  /** Where status lines go (stdout by default). */
  readonly log?: (line: string) => void;
  /** How long a received message stays invisible; AWS uses six times the function timeout. */
  readonly visibilitySeconds?: number;
  /** The local "function timeout": the lease of each attempt. */
  readonly timeoutSeconds?: number;
  /** Faults at the handler's ports (tests only): see port-faults.ts. */
  readonly faults?: PortFaults;
  /** Copy the sample partners' sample files into an empty inbox on the first run (default true). */
  readonly seedSamples?: boolean;
  readonly ports?: { readonly s3Sqs?: number; readonly dynamodb?: number };
  /** Worker threads running the chunks of split files (default: one per core). */
  readonly splitWorkers?: number;
  /** The clock of the overdue checks (tests pass a fake one); the system clock by default. */
  readonly clock?: Clock;
}

/** One upload the platform made, and what became of it. */
export interface Tracked {
  readonly object: ObjectCreated;
  readonly feed?: FeedConfig;
  record?: FileRecord;
}

/** What became of a change to the partner files. */
export type ConfigReload =
  | { readonly kind: 'applied'; readonly configHash: string; readonly previousHash: string; readonly feeds: number }
  | { readonly kind: 'rejected'; readonly configHash: string; readonly problems: readonly ConfigProblem[] }
  /** The files changed but the config they load to did not (a comment, a sample). */
  | { readonly kind: 'unchanged'; readonly configHash: string };

export interface LocalPlatform {
  readonly emulators: Emulators;
  readonly ledger: DynamoDbFileLedger;
  /** Every queue created so far by `partner/feed` (a feed removed by a reload keeps its queue). */
  readonly queues: ReadonlyMap<string, { url: string; dlqUrl: string }>;
  /** The hash of the config the handler runs on now. */
  readonly configHash: string;
  /**
   * Reloads `partners/` and `mappings/` when a file under them changed since the last look
   * (undefined when none did). A valid config replaces the live one once in-flight files finish;
   * an invalid one is refused and the live config stays.
   */
  reloadConfigIfChanged(): Promise<ConfigReload | undefined>;
  /** Uploads every inbox file not uploaded yet (new or changed since its last upload). */
  scanInbox(): Promise<Tracked[]>;
  /** Resolves when every tracked upload has a final status. */
  settle(timeoutMs?: number): Promise<Tracked[]>;
  readonly tracked: readonly Tracked[];
  stop(): Promise<void>;
}

/**
 * The whole pipeline on one machine: fauxqs (S3, SQS) and dynalite (DynamoDB, persisted under the
 * state folder) on loopback, provisioned from the same config model as the CDK stack; uploads
 * become the EventBridge events S3 would send, routed by the stack's own rule patterns to each
 * feed's queue (with its dead-letter queue); pollers call the real handler with real SQS batches.
 */
export async function startLocalPlatform(options: LocalPlatformOptions): Promise<LocalPlatform> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  let stamp = configStamp(options.root);
  const initialConfig = requireValidConfig(options.root);
  const timeoutSeconds = options.timeoutSeconds ?? 60;
  const visibilitySeconds = options.visibilitySeconds ?? timeoutSeconds;
  mkdirSync(options.stateDir, { recursive: true });
  const emulators = await startEmulators({
    dynamoPath: dynamoDataPath(options.stateDir),
    s3SqsPort: options.ports?.s3Sqs,
    dynamoPort: options.ports?.dynamodb,
  });
  const { s3, sqs } = emulators;
  const names = LOCAL_NAMES;
  await createBuckets(s3, Object.values(names.buckets));
  await createLedgerTable(emulators.dynamodb, names.tableName);

  const queues = new Map<string, { url: string; dlqUrl: string }>();
  const createFeedQueue = async (feed: FeedConfig) => {
    const base = `${feed.partner}-${feed.id}`;
    const dlq = await sqs.send(
      new CreateQueueCommand({ QueueName: `${base}-dlq`, Attributes: { MessageRetentionPeriod: String(14 * 86400) } }),
    );
    const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!
      .QueueArn!;
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: base,
        Attributes: {
          VisibilityTimeout: String(visibilitySeconds),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: MAX_RECEIVE_COUNT }),
        },
      }),
    );
    queues.set(`${feed.partner}/${feed.id}`, { url: queue.QueueUrl!, dlqUrl: dlq.QueueUrl! });
  };

  const ledger = new DynamoDbFileLedger(emulators.dynamodb, names.tableName);
  const tracked: Tracked[] = [];
  const events: EventPublisher = {
    async publish(detailType, detail) {
      // No EventBridge emulator exists: downstream events are appended to the outbox.
      mkdirSync(options.outbox, { recursive: true });
      const line = `${JSON.stringify({ time: new Date().toISOString(), 'detail-type': detailType, source: 'partner-etl', detail })}\n`;
      const stream = createWriteStream(join(options.outbox, 'events.ndjson'), { flags: 'a' });
      await new Promise<void>((resolve, reject) => stream.end(line, () => resolve()).on('error', reject));
    },
  };

  const mirror = async (bucket: string, key: string | undefined) => {
    if (!key) return;
    const target = join(options.outbox, bucket === names.buckets.output ? 'output' : 'rejects', ...key.split('/'));
    mkdirSync(dirname(target), { recursive: true });
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    await pipeline(got.Body as Readable, createWriteStream(target));
  };
  // The partner's reject report of a PARTIAL or FAILED file (a split file has none yet).
  const mirrorReport = async (key: string) => {
    await mirror(names.buckets.rejects, key).catch((err: Error) => {
      if (err.name !== 'NoSuchKey') throw err;
    });
  };
  const mirrorRecord = async (record: FileRecord) => {
    if (record.status === 'DUPLICATE') return; // nothing new was written
    const report = record.status !== 'SUCCEEDED' && record.summaryKey ? rejectReportKeys(record.summaryKey) : undefined;
    await Promise.all([
      mirror(names.buckets.output, record.outputKey),
      mirror(names.buckets.output, record.manifestKey),
      mirror(names.buckets.rejects, record.rejectsKey),
      mirror(names.buckets.rejects, record.summaryKey),
      ...(report ? [report.reportText, report.reportHtml, ...(record.rejectsKey ? [report.rejectsCsv] : [])].map(mirrorReport) : []),
      // a split file's parts, which its manifest lists
      ...(record.manifestKey
        ? [
            s3
              .send(
                new ListObjectsV2Command({
                  Bucket: names.buckets.output,
                  Prefix: `${record.manifestKey.replace(/\.manifest\.json$/, '')}.part-`,
                }),
              )
              .then((page) => Promise.all((page.Contents ?? []).map((o) => mirror(names.buckets.output, o.Key)))),
          ]
        : []),
    ]);
  };

  const telemetry: Telemetry = {
    finished(result, object) {
      if (result.kind === 'busy') return;
      if (result.kind === 'handed-over') {
        log(`SPLIT     ${`${result.feed.partner}/${result.feed.id}`.padEnd(20)} ${object.key}  handed over to run ${result.run}`);
        return;
      }
      const item = tracked.find((t) => t.object.key === object.key && t.object.sequencer === object.sequencer);
      if (item && !item.record) void refresh(item).catch((err: Error) => log(`outbox: ${err.message}`));
      const record = result.kind === 'already-finished' ? result.record : undefined;
      if (result.kind === 'processed') {
        const o = result.outcome;
        log(
          `${result.status.padEnd(9)} ${`${result.feed.partner}/${result.feed.id}`.padEnd(20)} ${object.key}  ` +
            `${o.rowsIn} in, ${o.rowsOut} out, ${o.rowsRejected} rejected  (${o.durationMs} ms)` +
            (o.errors[0] ? `  ${o.errors[0].code}: ${o.errors[0].message}` : '') +
            driftNote(o.warnings, object.key),
        );
      } else if (record) {
        log(
          `${record.status.padEnd(9)} ${`${record.partner}/${record.feed}`.padEnd(20)} ${object.key}  (duplicate delivery, already finished)`,
        );
      }
    },
    failed(error, messageId) {
      log(`RETRY     message ${messageId}: ${error instanceof Error ? error.message : String(error)}`);
    },
    stepFailed(step, error, object) {
      log(`STEP      ${object.key}: ${step} failed, handled: ${error instanceof Error ? error.message : String(error)}`);
    },
  };

  /** Everything that runs on one version of the config: rules, compiled feeds, handler, pollers, split pool. */
  const startRuntime = async (config: PlatformConfig) => {
    const bundle = createBundle(config);
    const feeds = listFeeds(config);
    for (const feed of feeds) if (!queues.has(`${feed.partner}/${feed.id}`)) await createFeedQueue(feed);
    const rules = feeds.map((feed) => ({ feed, pattern: feedEventPattern(feed, names.buckets.inbound) }));
    const deps = {
      config: bundle.config,
      configHash: bundle.configHash,
      feeds: compileFeeds(bundle.config),
      inboundBucket: names.buckets.inbound,
      outputBucket: names.buckets.output,
      rejectsBucket: names.buckets.rejects,
      ledger,
      store: new S3ObjectStore(s3),
      events,
    };
    // Feeds that split their large files get the same plan -> map -> reduce as the state machine, the map on worker threads.
    const splitPool = feeds.some((f) => f.split)
      ? startSplitPool({
          deps,
          worker: { bundle, endpoints: emulators.endpoints, outputBucket: names.buckets.output, rejectsBucket: names.buckets.rejects },
          ...(options.splitWorkers === undefined ? {} : { workers: options.splitWorkers }),
          log,
          onFinished(input, record, chunks) {
            if (!record) return;
            log(
              `${record.status.padEnd(9)} ${`${record.partner}/${record.feed}`.padEnd(20)} ${record.key}  ` +
                `${record.rowsIn} in, ${record.rowsOut} out, ${record.rowsRejected} rejected  (${record.durationMs} ms, ${chunks} chunks)` +
                (record.errors?.[0] ? `  ${record.errors[0].code}: ${record.errors[0].message}` : '') +
                driftNote(record.warnings, record.key),
            );
            const item = tracked.find((t) => t.object.key === input.object.key && t.object.sequencer === input.object.sequencer);
            if (item && !item.record) void refresh(item).catch((err: Error) => log(`outbox: ${err.message}`));
          },
        })
      : undefined;
    const handler = createHandler(
      {
        ...(options.faults ? withPortFaults(deps, options.faults) : deps),
        maxReceiveCount: MAX_RECEIVE_COUNT,
        ...(splitPool ? { split: splitPool } : {}),
      },
      telemetry,
    );
    const pollers = startPollers({
      sqs,
      queues: feeds.map((feed) => ({ url: queues.get(`${feed.partner}/${feed.id}`)!.url, concurrency: feed.concurrency })),
      handler,
      timeoutSeconds,
      log,
    });
    return {
      config,
      configHash: bundle.configHash,
      rules,
      async stop() {
        await pollers.stop(); // in-flight files finish; unreceived messages stay for redelivery
        await splitPool?.stop(); // and so do split runs
      },
    };
  };
  let runtime = await startRuntime(initialConfig);
  // EventBridge Scheduler's part: each scheduled feed checked at its deadlines.
  const overdueWatch = startOverdueWatch({
    feeds: () => listFeeds(runtime.config),
    ledger,
    events,
    clock: options.clock ?? SYSTEM_CLOCK,
    log,
  });

  const refreshing = new Map<Tracked, Promise<void>>();
  const refresh = (item: Tracked): Promise<void> => {
    const pending = refreshing.get(item);
    if (pending) return pending;
    const work = refreshOnce(item).finally(() => refreshing.delete(item));
    refreshing.set(item, work);
    return work;
  };
  const refreshOnce = async (item: Tracked) => {
    const history = await ledger.history(item.object.bucket, item.object.key);
    const record = history.find((r) => r.sequencer === item.object.sequencer);
    if (record && FINAL_STATUSES.includes(record.status)) {
      item.record = record;
      await mirrorRecord(record).catch((err: Error) => log(`outbox: could not copy the files of ${record.key}: ${err.message}`));
    }
  };

  // Inbox scans and config reloads take turns, so no upload is routed by rules that are being replaced.
  let turn: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const next = turn.then(work);
    turn = next.catch(() => undefined);
    return next;
  };

  // The inbox: relative path = key. Seen files are remembered by size and modification time.
  const seen = new Map<string, string>();
  if ((options.seedSamples ?? true) && (!existsSync(options.inbox) || listFiles(options.inbox).length === 0)) {
    for (const c of findGoldenCases(options.root, initialConfig)) {
      const target = join(options.inbox, ...sampleKey(c).split('/'));
      mkdirSync(dirname(target), { recursive: true });
      await pipeline(createReadStream(join(options.root, c.csv)), createWriteStream(target));
    }
    log(`inbox was empty: copied the sample partners' sample files into ${options.inbox}`);
  }
  const scanInbox = async (): Promise<Tracked[]> => {
    const added: Tracked[] = [];
    for (const file of listFiles(options.inbox)) {
      const stat = statSync(file);
      const fileStamp = `${stat.size}:${stat.mtimeMs}`;
      if (seen.get(file) === fileStamp) continue;
      seen.set(file, fileStamp);
      const key = relative(options.inbox, file).split(sep).join('/');
      const put = await s3.send(
        new PutObjectCommand({ Bucket: names.buckets.inbound, Key: key, Body: createReadStream(file), ContentLength: stat.size }),
      );
      const object: ObjectCreated = {
        bucket: names.buckets.inbound,
        key,
        etag: (put.ETag ?? '').replace(/"/g, ''),
        size: stat.size,
        sequencer: nextSequencer(),
        time: new Date().toISOString(),
        ...(put.VersionId ? { versionId: put.VersionId } : {}),
      };
      const event = objectCreatedEvent(object);
      const matched = runtime.rules.filter((r) => matchesPattern(r.pattern, event));
      for (const { feed } of matched) {
        await sqs.send(
          new SendMessageCommand({ QueueUrl: queues.get(`${feed.partner}/${feed.id}`)!.url, MessageBody: JSON.stringify(event) }),
        );
      }
      if (matched.length === 0) log(`IGNORED   ${key}: no feed's prefix and suffix match it (as no rule would in AWS)`);
      const item: Tracked = matched[0] ? { object, feed: matched[0].feed } : { object };
      if (matched.length > 0) tracked.push(item);
      added.push(item);
    }
    return added;
  };

  const startedAt = new Date().toISOString();
  const publishState = () =>
    writeState(options.stateDir, {
      pid: process.pid,
      startedAt,
      root: options.root,
      configHash: runtime.configHash,
      endpoints: emulators.endpoints,
      tableName: names.tableName,
      buckets: names.buckets,
      queues: Object.fromEntries(
        listFeeds(runtime.config).map((feed) => [`${feed.partner}/${feed.id}`, queues.get(`${feed.partner}/${feed.id}`)!.url]),
      ),
    });
  publishState();
  rememberRoot(options.stateDir, options.root);

  const reloadConfig = async (): Promise<ConfigReload> => {
    const { config, problems } = loadPlatformConfig(options.root);
    const errors = problems.filter((p) => p.severity === 'error');
    if (errors.length > 0) return { kind: 'rejected', configHash: runtime.configHash, problems: errors };
    const previousHash = runtime.configHash;
    if (createBundle(config).configHash === previousHash) return { kind: 'unchanged', configHash: previousHash };
    await runtime.stop();
    runtime = await startRuntime(config);
    overdueWatch.reschedule();
    publishState();
    return { kind: 'applied', configHash: runtime.configHash, previousHash, feeds: listFeeds(config).length };
  };

  return {
    emulators,
    ledger,
    queues,
    tracked,
    get configHash() {
      return runtime.configHash;
    },
    scanInbox: () => inTurn(scanInbox),
    reloadConfigIfChanged: () =>
      inTurn(async () => {
        const now = configStamp(options.root);
        if (now === stamp) return undefined;
        stamp = now;
        return reloadConfig();
      }),
    async settle(timeoutMs = 120_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        for (const item of tracked) if (!item.record) await refresh(item);
        if (tracked.every((t) => t.record)) return tracked;
        if (Date.now() > until)
          throw new Error(`${tracked.filter((t) => !t.record).length} files have no final status after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await turn;
      await overdueWatch.stop();
      await runtime.stop();
      clearState(options.stateDir);
      await emulators.stop();
    },
  };
}

/** Every regular file under a folder, skipping dot files (editors' temporaries). */
function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path));
    else if (entry.isFile()) out.push(path);
  }
  return out.sort();
}

/** The status line's note on a drifted header: the patch is one command away. */
function driftNote(warnings: readonly FileWarning[] | undefined, key: string): string {
  return warnings?.some((w) => w.code === 'HEADER_DRIFT')
    ? `  HEADER_DRIFT: the header changed; partner-etl drift ${key} prints the config change`
    : '';
}
