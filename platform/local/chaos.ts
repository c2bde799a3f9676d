/**
 * `npm run chaos [-- --files N --seed S --kills K]`: the exactly-once claim, tested. M files (mixed
 * partners and feeds; some delivered twice, some overwritten with new or identical bytes, some
 * poison, some bad) go through the real handler while it crashes at random steps, S3 and DynamoDB
 * calls are throttled or slow, and its process is killed with SIGKILL and restarted mid-run.
 * Then every object version is reconciled against a fault-free run of the engine on the same bytes.
 * Loopback only, bounded in count and time; exits non-zero on any violation.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { compileFeeds } from '../../lambdas/transformer/compile-feeds.js';
import { transformFile, type CompiledFeed } from '../../lambdas/transformer/engine/transform.js';
import type { ObjectCreated } from '../../lambdas/transformer/intake.js';
import { DynamoDbFileLedger } from '../../lambdas/transformer/ledger/dynamodb-ledger.js';
import { FINAL_STATUSES, type FileRecord } from '../../lambdas/transformer/ledger/file-ledger.js';
import { listFeeds, type FeedConfig } from '../../lambdas/transformer/model.js';
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
  crashRate: 0.03,
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
  const deadLetterQueues: string[] = [];
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
    deadLetterQueues.push(dlq.QueueUrl!);
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
  const finalCount = async (): Promise<number> => {
    let done = 0;
    for (const key of new Set(planned.map((p) => p.object.key))) {
      done += (await ledger.history(buckets.inbound, key)).filter((r) => FINAL_STATUSES.includes(r.status)).length;
    }
    return done;
  };

  let runner = await startRunner();
  let kills = 0;
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  const violations: string[] = [];
  let lastReport = Date.now();
  for (;;) {
    const done = await finalCount();
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      log(`chaos: ${done}/${planned.length} versions final`);
    }
    if (done >= planned.length) break;
    if (Date.now() > deadline) {
      violations.push(`after ${options.timeoutSeconds} s only ${done} of ${planned.length} versions have a final status`);
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
  // Every poison file fails its last delivery; its message moves to the dead-letter queue on the
  // next receive, after the visibility timeout. Keep the handler polling until they are all there.
  const poisonVersions = planned.filter((p) => p.poison).length;
  for (let waited = 0; waited < 60_000 && (await countDeadLetters(sqs, deadLetterQueues)) < poisonVersions; waited += 500) {
    await new Promise((r) => setTimeout(r, 500));
  }
  runner.kill('SIGTERM');
  await new Promise((r) => runner.once('exit', r));

  // Reconciliation against the engine run fault-free on the same bytes.
  const compiled = compileFeeds(config);
  const statuses: Record<string, number> = {};
  const published = new Set<string>();
  const byKey = new Map<string, FileRecord[]>();
  for (const key of new Set(planned.map((p) => p.object.key))) byKey.set(key, await ledger.history(buckets.inbound, key));
  for (const p of planned) {
    const matches = byKey.get(p.object.key)!.filter((r) => r.sequencer === p.object.sequencer);
    if (matches.length !== 1) {
      violations.push(`${p.object.key} version ${p.object.sequencer}: ${matches.length} ledger items, not 1`);
      continue;
    }
    const record = matches[0]!;
    statuses[record.status] = (statuses[record.status] ?? 0) + 1;
    if (!FINAL_STATUSES.includes(record.status)) violations.push(`${p.object.key}: no final status (${record.status})`);
    if (record.rowsIn !== (record.rowsOut ?? 0) + (record.rowsRejected ?? 0)) violations.push(`${p.object.key}: rows do not add up`);
    if (p.poison) {
      if (record.status !== 'FAILED') violations.push(`${p.object.key}: a poison file ended ${record.status}, not FAILED`);
      continue;
    }
    if (record.status === 'DUPLICATE') {
      const original = byKey.get(p.object.key)!.find((r) => `s${r.sequencer}` === record.duplicateOf || r.versionId === record.duplicateOf);
      if (!original || original.etag !== record.etag || !['SUCCEEDED', 'PARTIAL'].includes(original.status)) {
        violations.push(`${p.object.key}: DUPLICATE of ${record.duplicateOf}, which is not a published version with the same bytes`);
      }
      continue;
    }
    const expected = await engineOutcome(compiled.get(`${p.feed.partner}/${p.feed.id}`)!, p);
    if (record.status !== expected.status || record.rowsOut !== expected.rowsOut || record.rowsRejected !== expected.rowsRejected) {
      violations.push(
        `${p.object.key}: ${record.status} ${record.rowsOut}/${record.rowsRejected}, fault-free ${expected.status} ${expected.rowsOut}/${expected.rowsRejected}`,
      );
      continue;
    }
    if (record.status === 'SUCCEEDED' || record.status === 'PARTIAL') {
      published.add(record.outputKey!);
      const body = await s3.send(new GetObjectCommand({ Bucket: buckets.output, Key: record.outputKey! })).catch(() => undefined);
      const text = body ? await body.Body!.transformToString() : undefined;
      if (text !== expected.output) violations.push(`${p.object.key}: the published output differs from the fault-free output`);
    }
  }
  const outputs = (await listKeys(s3, buckets.output)).filter((k) => !k.endsWith('.manifest.json'));
  const stray = outputs.filter((k) => !published.has(k));
  if (stray.length > 0) violations.push(`${stray.length} output objects belong to no published version (e.g. ${stray[0]})`);
  if (outputs.length !== published.size) violations.push(`${outputs.length} output objects for ${published.size} published versions`);

  let deadLetters = 0;
  for (const url of deadLetterQueues) {
    for (;;) {
      const got = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 300 }),
      );
      if (!got.Messages?.length) break;
      for (const m of got.Messages) {
        deadLetters++;
        const key = (JSON.parse(m.Body!) as { detail: { object: { key: string } } }).detail.object.key;
        if (!key.includes(POISON)) violations.push(`a valid file is in a dead-letter queue: ${key}`);
      }
    }
  }
  const poisonVersionCount = planned.filter((p) => p.poison).length;
  if (deadLetters !== poisonVersionCount) violations.push(`${deadLetters} dead letters for ${poisonVersionCount} poison versions`);

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
    seconds: Math.round(performance.now() - started) / 1000,
    violations,
  };
}

async function engineOutcome(feed: CompiledFeed, p: Planned) {
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on('data', (c: Buffer) => chunks.push(c));
  const outcome = await transformFile(feed, {
    key: p.object.key,
    input: Readable.from([p.bytes]),
    output,
    rejects: new PassThrough().resume(),
    sizeBytes: p.bytes.length,
  });
  return {
    status: outcome.status,
    rowsOut: outcome.rowsOut,
    rowsRejected: outcome.rowsRejected,
    output: Buffer.concat(chunks).toString('utf8'),
  };
}

async function countDeadLetters(sqs: import('@aws-sdk/client-sqs').SQSClient, urls: readonly string[]): Promise<number> {
  let n = 0;
  for (const url of urls) {
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }));
    n += Number(attrs.Attributes?.ApproximateNumberOfMessages ?? 0);
  }
  return n;
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
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }`,
  );
  log(
    `final statuses: ${Object.entries(report.statuses)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  log(`output objects ${report.outputs}, dead letters ${report.deadLetters}`);
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
