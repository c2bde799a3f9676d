/**
 * `npm run chaos [-- --files N --seed S --kills K]`: the exactly-once claim, tested. M files (mixed
 * partners and feeds; some delivered twice, some overwritten with new or identical bytes, some
 * poison, some bad) go through the real handler while it crashes at random steps, S3 and DynamoDB
 * calls are throttled or slow, and its process is killed with SIGKILL and restarted mid-run.
 * Then every object version is reconciled: its ledger item, attempts against deliveries, its output,
 * rejects, summary and manifest against a fault-free run of the engine on the same bytes, the events
 * sent for it, and each key's latest-version pointer. A version left without a final status fails the
 * run as soon as its feed's queue is drained. Loopback only, bounded in count and time; exits
 * non-zero on any violation.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { compileFeeds } from '../../lambdas/transformer/compile-feeds.js';
import { listedErrors, type FileOutcome } from '../../lambdas/transformer/engine/outcome.js';
import { transformFile, type CompiledFeed } from '../../lambdas/transformer/engine/transform.js';
import type { ObjectCreated } from '../../lambdas/transformer/intake.js';
import { DynamoDbFileLedger, padSequencer } from '../../lambdas/transformer/ledger/dynamodb-ledger.js';
import { FINAL_STATUSES, type FileRecord } from '../../lambdas/transformer/ledger/file-ledger.js';
import { versionRef } from '../../lambdas/transformer/ledger/file-ledger.js';
import { listFeeds, type FeedConfig } from '../../lambdas/transformer/model.js';
import { eventIdOf, manifestSchema } from '../../lambdas/transformer/process-object.js';
import { rejectReportKeys } from '../../lambdas/transformer/output-keys.js';
import { createBundle } from '../config/bundle.js';
import { feedEventPattern } from '../config/feed-pattern.js';
import { findGoldenCases, sampleKey } from '../config/golden.js';
import { requireValidConfig } from '../config/load-config.js';
import { MAX_RECEIVE_COUNT } from '../config/queue-settings.js';
import type { RunnerSetup } from './chaos-runner.js';
import { startEmulators } from './emulators.js';
import { matchesPattern } from './event-pattern.js';
import { createBuckets, createLedgerTable } from './provision.js';
import { nextSequencer, objectCreatedEvent } from './s3-events.js';

export interface ChaosOptions {
  readonly root: string;
  readonly files: number;
  readonly seed: number;
  /** SIGKILLs of the handler process, spread over the run. */
  readonly kills: number;
  readonly crashRate: number;
  readonly throttleRate: number;
  readonly slowRate: number;
  /** Give up (and report) after this long. */
  readonly timeoutSeconds: number;
  readonly log?: (line: string) => void;
}

export const DEFAULT_CHAOS: Omit<ChaosOptions, 'root'> = {
  files: 2000,
  seed: 1,
  kills: 2,
  // per ledger, object-store and event call (about 11 per attempt): about one attempt in eight fails
  crashRate: 0.012,
  throttleRate: 0.02,
  slowRate: 0.01,
  timeoutSeconds: 900,
};

export interface ChaosReport {
  readonly files: number;
  readonly versions: number;
  readonly deliveries: number;
  readonly kills: number;
  readonly faults: Record<string, number>;
  readonly statuses: Record<string, number>;
  readonly outputs: number;
  readonly deadLetters: number;
  /** Attempts recorded in the ledger; deliveries the handler received (with redeliveries). */
  readonly attempts: number;
  readonly received: number;
  /** Events sent, distinct event ids among them (one per version with an event), at-least-once repeats. */
  readonly events: { readonly sent: number; readonly distinct: number; readonly repeats: number };
  /** Errors that failed a message, by name; cleanup steps that failed after a failed attempt. */
  readonly failures: Record<string, number>;
  readonly stepFailures: number;
  readonly seconds: number;
  readonly violations: string[];
}

const POISON = 'poison';
const RUNNER = fileURLToPath(new URL('./chaos-runner.ts', import.meta.url));

interface Planned {
  readonly object: ObjectCreated;
  readonly feed: FeedConfig;
  readonly bytes: Buffer;
  readonly poison: boolean;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'partner-etl-chaos-'));
  const config = requireValidConfig(options.root);
  const feeds = listFeeds(config);
  const cases = findGoldenCases(options.root, config);
  const emulators = await startEmulators();
  const { s3, sqs } = emulators;
  const buckets = { inbound: 'chaos-inbound', output: 'chaos-output', rejects: 'chaos-rejects' };
  const tableName = 'chaos-ledger';
  await createBuckets(s3, Object.values(buckets));
  await createLedgerTable(emulators.dynamodb, tableName);
  const queues: Record<string, string> = {};
  const deadLetterQueues: { url: string; source: string }[] = [];
  const handlerTimeoutSeconds = 4;
  for (const feed of feeds) {
    const name = `${feed.partner}-${feed.id}`;
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
    const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!
      .QueueArn!;
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          VisibilityTimeout: String(handlerTimeoutSeconds + 1),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: MAX_RECEIVE_COUNT }),
        },
      }),
    );
    queues[`${feed.partner}/${feed.id}`] = queue.QueueUrl!;
    deadLetterQueues.push({ url: dlq.QueueUrl!, source: queue.QueueUrl! });
  }
  const rules = feeds.map((feed) => ({ feed, pattern: feedEventPattern(feed, buckets.inbound) }));

  // The workload: every sample file many times over, with duplicates, new versions, poison and bad files.
  const planned: Planned[] = [];
  let deliveries = 0;
  const upload = async (key: string, bytes: Buffer, copies: number): Promise<void> => {
    const put = await s3.send(new PutObjectCommand({ Bucket: buckets.inbound, Key: key, Body: bytes }));
    const object: ObjectCreated = {
      bucket: buckets.inbound,
      key,
      etag: (put.ETag ?? '').replace(/"/g, ''),
      size: bytes.length,
      sequencer: nextSequencer(),
      time: new Date().toISOString(),
    };
    const event = objectCreatedEvent(object);
    const rule = rules.find((r) => matchesPattern(r.pattern, event))!;
    planned.push({ object, feed: rule.feed, bytes, poison: key.includes(POISON) });
    for (let i = 0; i < copies; i++) {
      await sqs.send(
        new SendMessageCommand({ QueueUrl: queues[`${rule.feed.partner}/${rule.feed.id}`], MessageBody: JSON.stringify(event) }),
      );
      deliveries++;
    }
  };
  for (let i = 0; i < options.files; i++) {
    const c = cases[i % cases.length]!;
    const sample = readFileSync(join(options.root, c.csv));
    const kind = i % 25 === 3 ? POISON : i % 30 === 4 ? 'bad' : 'file';
    const key = sampleKey(c).replace(/([^/]+)$/, `chaos-${kind}-${i}-$1`);
    // trailing blank lines make every file's bytes distinct without changing its rows
    const bytes = kind === 'bad' ? Buffer.from('not,the,header\n1,2,3\n') : Buffer.concat([sample, Buffer.from('\n'.repeat(i % 7))]);
    await upload(key, bytes, i % 10 === 0 ? 2 : 1); // every tenth delivered twice
    if (i % 10 === 1) await upload(key, Buffer.concat([bytes, Buffer.from('\n\n\n\n\n\n\n\n')]), 1); // a new version
    if (i % 10 === 2) await upload(key, bytes, 1); // the same bytes again: DUPLICATE (or published, if it wins the race)
  }
  log(`chaos: ${options.files} files, ${planned.length} object versions, ${deliveries} deliveries across ${feeds.length} feeds`);

  // The handler process: started, killed with SIGKILL mid-run, started again.
  const faultLog = join(dir, 'faults.log');
  const setup: RunnerSetup = {
    root: options.root,
    endpoints: emulators.endpoints,
    tableName,
    buckets,
    queues,
    seed: options.seed,
    crashRate: options.crashRate,
    throttleRate: options.throttleRate,
    slowRate: options.slowRate,
    timeoutSeconds: handlerTimeoutSeconds,
    poisonMarker: POISON,
    faultLog,
    eventLog: join(dir, 'events.ndjson'),
    deliveryLog: join(dir, 'deliveries.ndjson'),
  };
  let generation = 0;
  const startRunner = async (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, JSON.stringify({ ...setup, seed: setup.seed + generation++ })], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    await new Promise<void>((resolveReady, reject) => {
      child.stdout!.once('data', () => resolveReady());
      child.once('exit', (code) => reject(new Error(`the handler process exited early (${code})`)));
    });
    return child;
  };
  const ledger = new DynamoDbFileLedger(emulators.dynamodb, tableName);
  const keys = [...new Set(planned.map((p) => p.object.key))];
  const feedOf = (p: Planned) => `${p.feed.partner}/${p.feed.id}`;
  /** Versions without a final status, read from the ledger. */
  const unfinished = async (): Promise<Planned[]> => {
    const final = new Set<string>();
    for (const key of keys) {
      for (const r of await ledger.history(buckets.inbound, key)) if (FINAL_STATUSES.includes(r.status)) final.add(`${key}#${r.sequencer}`);
    }
    return planned.filter((p) => !final.has(`${p.object.key}#${p.object.sequencer}`));
  };

  let runner = await startRunner();
  let kills = 0;
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  const violations: string[] = [];
  const poisonVersions = new Set(planned.filter((p) => p.poison).map((p) => `${p.object.key}#${p.object.sequencer}`));
  // Dead letters are redriven as they arrive, as an operator does on the alarm: a version whose last
  // attempt died before its final status or its event (a SIGKILL, a lost answer from the ledger)
  // gets them from the redriven message; a finished version is not processed again.
  const deadLettered = new Set<string>();
  /** Versions that were final when their message was redriven: the redriven message must only be acknowledged. */
  const finalWhenRedriven = new Set<string>();
  let deadLetters = 0;
  let refailed = false;
  const redrive = async (): Promise<void> => {
    for (const { url, source } of deadLetterQueues) {
      for (;;) {
        const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
        if (!got.Messages?.length) break;
        for (const m of got.Messages) {
          deadLetters++;
          const { key, sequencer } = (JSON.parse(m.Body!) as { detail: { object: { key: string; sequencer: string } } }).detail.object;
          const version = `${key}#${sequencer}`;
          deadLettered.add(version);
          if (!key.includes(POISON)) violations.push(`a valid file is in a dead-letter queue: ${key} version ${sequencer}`);
          if (finalWhenRedriven.has(version)) {
            violations.push(
              `${key} version ${sequencer} was final when redriven, yet its message failed again and is back in a dead-letter queue`,
            );
            refailed = true;
          }
          const records = await ledger.history(buckets.inbound, key);
          if (records.some((r) => r.sequencer === sequencer && FINAL_STATUSES.includes(r.status))) finalWhenRedriven.add(version);
          await sqs.send(new SendMessageCommand({ QueueUrl: source, MessageBody: m.Body! }));
          await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle! }));
        }
      }
    }
  };
  let lastReport = Date.now();
  for (;;) {
    // Dead letters first, then the queues, then the ledger: once a feed's queue and dead-letter queue
    // hold nothing (waiting, in flight or delayed), nothing can still give its versions a final
    // status, so a version still without one is lost, whatever the deadline.
    await redrive();
    const drained = new Set<string>();
    for (const [i, [feed, url]] of Object.entries(queues).entries()) {
      if ((await isDrained(sqs, url)) && (await isDrained(sqs, deadLetterQueues[i]!.url))) drained.add(feed);
    }
    const open = await unfinished();
    const done = planned.length - open.length;
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      log(`chaos: ${done}/${planned.length} versions final, ${deadLetters} dead letters redriven`);
    }
    if (refailed) break;
    const stranded = open.filter((p) => drained.has(feedOf(p)));
    if (stranded.length > 0) {
      violations.push(
        `${stranded.length} versions have no final status though their queue and dead-letter queue are drained ` +
          `(e.g. ${stranded[0]!.object.key} version ${stranded[0]!.object.sequencer})`,
      );
      break;
    }
    // Done when every version is final, every poison file has been through its dead-letter queue
    // (it fails every delivery) and every queue is drained.
    if (open.length === 0 && deadLettered.size >= poisonVersions.size && drained.size === Object.keys(queues).length) break;
    if (Date.now() > deadline) {
      violations.push(
        `after ${options.timeoutSeconds} s: ${done} of ${planned.length} versions final, ` +
          `${deadLettered.size} of ${poisonVersions.size} poison versions dead-lettered, ${drained.size} of ${feeds.length} feeds drained`,
      );
      break;
    }
    if (kills < options.kills && done >= ((kills + 1) * planned.length) / (options.kills + 1)) {
      runner.kill('SIGKILL');
      await new Promise((r) => runner.once('exit', r));
      kills++;
      log(`chaos: SIGKILL ${kills} of the handler process at ${done}/${planned.length} final versions; restarting`);
      runner = await startRunner();
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const missingPoison = [...poisonVersions].filter((v) => !deadLettered.has(v));
  if (missingPoison.length > 0)
    violations.push(`${missingPoison.length} poison versions never reached a dead-letter queue (e.g. ${missingPoison[0]})`);
  runner.kill('SIGTERM');
  await new Promise((r) => runner.once('exit', r));

  // Reconciliation against the engine run fault-free on the same bytes.
  const compiled = compileFeeds(config);
  const configHash = createBundle(config).configHash;
  const runnerLog = readLines(setup.deliveryLog);
  const received = new Map<string, number>();
  const processed = new Map<string, number>();
  const failures: Record<string, number> = {};
  let stepFailures = 0;
  for (const entry of runnerLog) {
    if (typeof entry.delivery === 'string') bump(received, `${entry.delivery}#${entry.sequencer}`);
    else if (entry.result === 'processed') bump(processed, `${entry.key}#${entry.sequencer}`);
    else if (typeof entry.failed === 'string') failures[entry.failed] = (failures[entry.failed] ?? 0) + 1;
    else if (entry.stepFailed) stepFailures++;
  }
  const events = readLines(setup.eventLog) as { detailType: string; detail: Record<string, unknown> }[];
  const eventsById = new Map<string, { detailType: string; detail: Record<string, unknown> }[]>();
  for (const e of events) eventsById.set(String(e.detail.eventId), [...(eventsById.get(String(e.detail.eventId)) ?? []), e]);
  const expectedEventIds = new Set<string>();

  const statuses: Record<string, number> = {};
  const published = new Set<string>();
  const rejectsObjects = new Set<string>();
  const byKey = new Map<string, FileRecord[]>();
  let attempts = 0;
  for (const key of keys) byKey.set(key, await ledger.history(buckets.inbound, key));
  const read = async (bucket: string, key: string | undefined): Promise<string | undefined> => {
    if (!key) return undefined;
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined); // absent: compared as such
    return got ? await got.Body!.transformToString() : undefined;
  };
  for (const p of planned) {
    const version = `${p.object.key} version ${p.object.sequencer}`;
    const matches = byKey.get(p.object.key)!.filter((r) => r.sequencer === p.object.sequencer);
    if (matches.length !== 1) {
      violations.push(`${version}: ${matches.length} ledger items, not 1`);
      continue;
    }
    const record = matches[0]!;
    statuses[record.status] = (statuses[record.status] ?? 0) + 1;
    attempts += record.attempts;
    if (!FINAL_STATUSES.includes(record.status)) violations.push(`${version}: no final status (${record.status})`);
    if (record.rowsIn !== (record.rowsOut ?? 0) + (record.rowsRejected ?? 0)) violations.push(`${version}: rows do not add up`);

    // Attempts against deliveries: each attempt took a delivery, and once final no delivery works on it again.
    const deliveries = received.get(`${p.object.key}#${p.object.sequencer}`) ?? 0;
    if (record.attempts !== record.history.length)
      violations.push(`${version}: ${record.attempts} attempts, ${record.history.length} in its history`);
    if (record.attempts > deliveries) violations.push(`${version}: ${record.attempts} attempts from ${deliveries} deliveries`);
    const finalAttempts = record.history.filter((a) => FINAL_STATUSES.includes(a.outcome as FileRecord['status']));
    const lastIsFinal = record.history.length > 0 && FINAL_STATUSES.includes(record.history.at(-1)!.outcome as FileRecord['status']);
    if (finalAttempts.length > 1 || (finalAttempts.length === 1 && !lastIsFinal) || (finalAttempts.length === 0 && !record.provisional)) {
      violations.push(`${version}: attempts ended ${record.history.map((a) => a.outcome).join(', ')}; exactly the last may end final`);
    }
    if ((processed.get(`${p.object.key}#${p.object.sequencer}`) ?? 0) > 1) {
      violations.push(`${version}: processed ${processed.get(`${p.object.key}#${p.object.sequencer}`)} times by the handler`);
    }

    // The event: one id per version (sent at least once, every copy the same), none for a DUPLICATE.
    const eventId = eventIdOf(p.object, record.attempts);
    const sent = eventsById.get(eventId) ?? [];
    if (record.status === 'DUPLICATE') {
      if (sent.length > 0) violations.push(`${version}: a DUPLICATE sent ${sent.length} events`);
    } else if (sent.length === 0) {
      violations.push(`${version}: ${record.status} but no event was sent`);
    } else {
      expectedEventIds.add(eventId);
      if (new Set(sent.map((e) => JSON.stringify(e))).size > 1) violations.push(`${version}: copies of event ${eventId} differ`);
      const d = sent[0]!.detail;
      const want = {
        detailType: record.status === 'FAILED' ? 'FileFailed' : 'FileProcessed',
        status: record.status,
        rowsIn: record.rowsIn ?? 0,
        rowsOut: record.rowsOut ?? 0,
        rowsRejected: record.rowsRejected ?? 0,
        output: record.outputKey ?? null,
        rejects: record.rejectsKey ?? null,
        summary: record.summaryKey ?? null,
      };
      const got = {
        detailType: sent[0]!.detailType,
        status: d.status,
        rowsIn: d.rowsIn,
        rowsOut: d.rowsOut,
        rowsRejected: d.rowsRejected,
        output: (d.output as { key?: string } | null)?.key ?? null,
        rejects: (d.rejects as { key?: string } | null)?.key ?? null,
        summary: (d.summary as { key?: string } | null)?.key ?? null,
      };
      if (JSON.stringify(got) !== JSON.stringify(want))
        violations.push(`${version}: event ${JSON.stringify(got)}, ledger ${JSON.stringify(want)}`);
    }

    if (record.rejectsKey) rejectsObjects.add(record.rejectsKey);
    if (record.summaryKey) rejectsObjects.add(record.summaryKey);
    if (record.summaryKey && (record.status === 'PARTIAL' || record.status === 'FAILED')) {
      // the partner's reject report beside them
      const report = rejectReportKeys(record.summaryKey);
      for (const key of [report.reportText, report.reportHtml, ...(record.rejectsKey ? [report.rejectsCsv] : [])]) rejectsObjects.add(key);
    }
    if (p.poison) {
      if (record.status !== 'FAILED') violations.push(`${version}: a poison file ended ${record.status}, not FAILED`);
      continue;
    }
    if (record.status === 'DUPLICATE') {
      const original = byKey.get(p.object.key)!.find((r) => `s${r.sequencer}` === record.duplicateOf || r.versionId === record.duplicateOf);
      if (!original || original.etag !== record.etag || !['SUCCEEDED', 'PARTIAL'].includes(original.status)) {
        violations.push(`${version}: DUPLICATE of ${record.duplicateOf}, which is not a published version with the same bytes`);
      }
      continue;
    }

    // Output, rejects, summary and manifest against the fault-free run.
    const expected = await engineOutcome(compiled.get(feedOf(p))!, p);
    if (
      record.status !== expected.outcome.status ||
      record.rowsOut !== expected.outcome.rowsOut ||
      record.rowsRejected !== expected.outcome.rowsRejected
    ) {
      violations.push(
        `${version}: ${record.status} ${record.rowsOut}/${record.rowsRejected}, fault-free ${expected.outcome.status} ${expected.outcome.rowsOut}/${expected.outcome.rowsRejected}`,
      );
      continue;
    }
    const isPublished = record.status === 'SUCCEEDED' || record.status === 'PARTIAL';
    if (isPublished) {
      published.add(record.outputKey!);
      if ((await read(buckets.output, record.outputKey)) !== expected.output)
        violations.push(`${version}: the published output differs from the fault-free output`);
    } else if (record.outputKey || record.manifestKey) {
      violations.push(`${version}: ${record.status} but names an output`);
    }
    const rejects = await read(buckets.rejects, record.rejectsKey);
    if ((rejects ?? '') !== expected.rejects || (expected.rejects !== '') !== Boolean(record.rejectsKey)) {
      violations.push(`${version}: the rejects differ from the fault-free rejects`);
    }
    const summary = expectedSummary(expected.outcome, p, configHash);
    const gotSummary = withoutDuration(await read(buckets.rejects, record.summaryKey));
    if (gotSummary !== JSON.stringify(summary)) violations.push(`${version}: summary ${gotSummary}, fault-free ${JSON.stringify(summary)}`);
    if (isPublished) {
      const manifest = { ...summary, output: { bucket: buckets.output, key: record.outputKey }, ...manifestSchema(p.feed) };
      const gotManifest = withoutDuration(await read(buckets.output, record.manifestKey));
      if (gotManifest !== JSON.stringify(manifest))
        violations.push(`${version}: manifest ${gotManifest}, fault-free ${JSON.stringify(manifest)}`);
    }
  }
  const strayEvents = [...eventsById.keys()].filter((id) => !expectedEventIds.has(id));
  if (strayEvents.length > 0) violations.push(`${strayEvents.length} event ids belong to no final version (e.g. ${strayEvents[0]})`);

  // Each key's latest-version pointer: its newest published version.
  for (const key of keys) {
    const newest = byKey
      .get(key)!
      .filter((r) => r.status === 'SUCCEEDED' || r.status === 'PARTIAL')
      .sort((a, b) => padSequencer(a.sequencer).localeCompare(padSequencer(b.sequencer)))
      .at(-1);
    const pointer = await ledger.latestPublished(buckets.inbound, key);
    const want = newest ? { versionRef: versionRef(newest), etag: newest.etag, outputKey: newest.outputKey } : undefined;
    const got = pointer ? { versionRef: pointer.versionRef, etag: pointer.etag, outputKey: pointer.outputKey } : undefined;
    if (JSON.stringify(got) !== JSON.stringify(want))
      violations.push(`${key}: latest pointer ${JSON.stringify(got)}, newest published ${JSON.stringify(want)}`);
  }

  const allOutputs = await listKeys(s3, buckets.output);
  const outputs = allOutputs.filter((k) => !k.endsWith('.manifest.json'));
  const stray = outputs.filter((k) => !published.has(k));
  if (stray.length > 0) violations.push(`${stray.length} output objects belong to no published version (e.g. ${stray[0]})`);
  if (outputs.length !== published.size) violations.push(`${outputs.length} output objects for ${published.size} published versions`);
  const manifests = allOutputs.filter((k) => k.endsWith('.manifest.json'));
  if (manifests.length !== published.size) violations.push(`${manifests.length} manifests for ${published.size} published versions`);
  const strayRejects = (await listKeys(s3, buckets.rejects)).filter((k) => !rejectsObjects.has(k));
  if (strayRejects.length > 0)
    violations.push(`${strayRejects.length} rejects or summaries belong to no version (e.g. ${strayRejects[0]})`);

  const faults: Record<string, number> = {};
  if (existsSync(faultLog)) {
    for (const line of readFileSync(faultLog, 'utf8').split('\n').filter(Boolean)) faults[line] = (faults[line] ?? 0) + 1;
  }
  await emulators.stop();
  return {
    files: options.files,
    versions: planned.length,
    deliveries,
    kills,
    faults,
    statuses,
    outputs: outputs.length,
    deadLetters,
    attempts,
    received: [...received.values()].reduce((a, b) => a + b, 0),
    events: { sent: events.length, distinct: eventsById.size, repeats: events.length - eventsById.size },
    failures,
    stepFailures,
    seconds: Math.round(performance.now() - started) / 1000,
    violations,
  };
}

async function engineOutcome(feed: CompiledFeed, p: Planned): Promise<{ outcome: FileOutcome; output: string; rejects: string }> {
  const output = collect();
  const rejects = collect();
  const outcome = await transformFile(feed, {
    key: p.object.key,
    input: Readable.from([p.bytes]),
    output: output.stream,
    rejects: rejects.stream,
    sizeBytes: p.bytes.length,
  });
  return { outcome, output: output.text(), rejects: rejects.text() };
}

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** The summary the contract promises for a version (README, "Output contract"), without its duration. */
function expectedSummary(outcome: FileOutcome, p: Planned, configHash: string): Record<string, unknown> {
  return {
    status: outcome.status,
    partner: outcome.partner,
    feed: outcome.feed,
    key: p.object.key,
    versionId: p.object.versionId ?? null,
    etag: p.object.etag,
    rowsIn: outcome.rowsIn,
    rowsOut: outcome.rowsOut,
    rowsRejected: outcome.rowsRejected,
    errors: listedErrors(outcome.errors),
    ...(outcome.mappingFallbacks ? { mappingFallbacks: outcome.mappingFallbacks } : {}),
    ...(outcome.warnings ? { warnings: outcome.warnings } : {}),
    configHash,
  };
}

function withoutDuration(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const { durationMs: _duration, ...rest } = JSON.parse(text) as Record<string, unknown>;
  return JSON.stringify(rest);
}

function readLines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Nothing waiting, nothing in flight, nothing delayed. */
async function isDrained(sqs: import('@aws-sdk/client-sqs').SQSClient, url: string): Promise<boolean> {
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  const a = attrs.Attributes ?? {};
  return [a.ApproximateNumberOfMessages, a.ApproximateNumberOfMessagesNotVisible, a.ApproximateNumberOfMessagesDelayed].every(
    (n) => Number(n ?? 0) === 0,
  );
}

async function listKeys(s3: import('@aws-sdk/client-s3').S3Client, bucket: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    out.push(...(page.Contents ?? []).map((c) => c.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

/** Prints a report; true when there is no violation. */
export function printChaosReport(report: ChaosReport, log: (line: string) => void): boolean {
  log('');
  log(
    `files ${report.files}, object versions ${report.versions}, deliveries ${report.deliveries}, SIGKILLs ${report.kills}, ${report.seconds} s`,
  );
  log(
    `faults injected: ${
      Object.entries(report.faults)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }`,
  );
  log(
    `final statuses: ${Object.entries(report.statuses)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  log(`output objects ${report.outputs}, dead letters redriven ${report.deadLetters}`);
  log(
    `deliveries received ${report.received}, attempts ${report.attempts}; events sent ${report.events.sent} ` +
      `(${report.events.distinct} distinct ids, ${report.events.repeats} at-least-once repeats)`,
  );
  log(
    `messages failed: ${
      Object.entries(report.failures)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }; cleanup steps that failed too: ${report.stepFailures}`,
  );
  log(report.violations.length === 0 ? 'reconciliation: no violation' : `reconciliation: ${report.violations.length} violations`);
  for (const v of report.violations.slice(0, 50)) log(`  ${v}`);
  return report.violations.length === 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const args = process.argv.slice(2);
  const option = (name: string, fallback: number) => {
    const i = args.indexOf(`--${name}`);
    return i === -1 ? fallback : Number(args[i + 1]);
  };
  const report = await runChaos({
    ...DEFAULT_CHAOS,
    root: resolve(fileURLToPath(new URL('../..', import.meta.url))),
    files: option('files', DEFAULT_CHAOS.files),
    seed: option('seed', DEFAULT_CHAOS.seed),
    kills: option('kills', DEFAULT_CHAOS.kills),
    timeoutSeconds: option('timeout', DEFAULT_CHAOS.timeoutSeconds),
  });
  const log = (line: string) => process.stdout.write(`${line}\n`);
  process.exitCode = printChaosReport(report, log) ? 0 : 1;
}
