/**
 * `npm run bench:split [-- --rows N --chunk-mib M --workers W]`: a large file (default 17,200,000
 * rows of the bench CSV, about 2 GB) generated into a temporary file, then
 *  - run split on the local platform: uploaded to the emulated inbound bucket, its event sent to the
 *    feed's queue, handed over by the real handler, planned, its chunks run on the worker pool,
 *    reduced; timed from the event to the final status;
 *  - run whole by the engine in this process, as `partner-etl transform` runs it;
 *  - planned alone (the plan's scan rate).
 * Counts, the SHA-256 of the output (the parts in manifest order) and of the rejects must be equal;
 * it exits 1 otherwise. Prints the figures and peak RSS, writes bench/results/split-latest.json.
 * A benchmark, not a test: the machine is shared, so timings are what one run saw.
 */
import { createHash } from 'node:crypto';
import {
  cpSync,
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { Upload } from '@aws-sdk/lib-storage';
import { planSplit } from '../lambdas/transformer/engine/split.js';
import { compileFeed, transformFile } from '../lambdas/transformer/engine/transform.js';
import type { ObjectCreated } from '../lambdas/transformer/intake.js';
import { FINAL_STATUSES, type FileRecord } from '../lambdas/transformer/ledger/file-ledger.js';
import { requireValidConfig } from '../platform/config/load-config.js';
import { startLocalPlatform } from '../platform/local/local-platform.js';
import { nextSequencer, objectCreatedEvent } from '../platform/local/s3-events.js';
import { LOCAL_NAMES } from '../platform/local/state.js';
import { benchCsv } from './generate.js';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? undefined : args[i + 1];
};
const rows = Number(option('rows') ?? 17_200_000);
const chunkMiB = Number(option('chunk-mib') ?? 128);
const workers = Number(option('workers') ?? availableParallelism());
const KEY = 'bench/events/big.csv';

const work = mkdtempSync(join(tmpdir(), 'partner-etl-bench-split-'));
const root = join(work, 'config');
cpSync(join(import.meta.dirname, 'config'), root, { recursive: true });
const partnerFile = join(root, 'partners/bench.yaml');
// The events feed splits files above one chunk.
writeFileSync(
  partnerFile,
  readFileSync(partnerFile, 'utf8').replace(
    '  - id: events\n',
    `  - id: events\n    maxFileMiB: 8192\n    concurrency: ${Math.max(2, workers)}\n    split:\n      aboveMiB: ${chunkMiB}\n      chunkMiB: ${chunkMiB}\n`,
  ),
);
const feed = requireValidConfig(root).partners[0]!.feeds.find((f) => f.id === 'events')!;
if (!feed.split) throw new Error('the bench config has no events feed to split');
const seconds = (from: number) => (performance.now() - from) / 1000;
const mb = (bytes: number) => bytes / 1e6;

/** A sink that hashes what is written to it. */
function hashSink() {
  const hash = createHash('sha256');
  let digest: string | undefined;
  const stream = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done();
    },
  });
  return { stream, digest: () => (digest ??= hash.digest('hex')) };
}

try {
  // 1. The file.
  const path = join(work, 'big.csv');
  let started = performance.now();
  const out = createWriteStream(path);
  for (const batch of benchCsv(rows)) if (!out.write(batch)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  await new Promise<void>((resolve) => out.end(resolve));
  const size = statSync(path).size;
  console.log(`generated ${rows.toLocaleString('en')} rows, ${mb(size).toFixed(0)} MB in ${seconds(started).toFixed(1)} s`);

  // 2. The plan alone: its scan rate.
  const compiled = compileFeed(feed);
  started = performance.now();
  const plan = await planSplit(compiled, createReadStream(path, { highWaterMark: 1 << 20 }), size, chunkMiB * 1024 * 1024);
  const planSeconds = seconds(started);
  console.log(`plan: ${plan.chunks.length} chunks in ${planSeconds.toFixed(1)} s (${(mb(size) / planSeconds).toFixed(0)} MB/s)`);

  // 3. Whole, in this process.
  const whole = { output: hashSink(), rejects: hashSink() };
  started = performance.now();
  const wholeOutcome = await transformFile(compiled, {
    key: KEY,
    input: createReadStream(path, { highWaterMark: 128 * 1024 }),
    output: whole.output.stream,
    rejects: whole.rejects.stream,
    sizeBytes: size,
  });
  const wholeSeconds = seconds(started);
  console.log(
    `whole: ${wholeOutcome.status} ${wholeOutcome.rowsIn} in, ${wholeOutcome.rowsOut} out, ${wholeOutcome.rowsRejected} rejected in ${wholeSeconds.toFixed(1)} s (${(mb(size) / wholeSeconds).toFixed(1)} MB/s)`,
  );

  // 4. Split, on the local platform.
  const platform = await startLocalPlatform({
    root,
    inbox: join(work, 'inbox'),
    outbox: join(work, 'outbox'),
    stateDir: join(work, 'state'),
    seedSamples: false,
    splitWorkers: workers,
    log: (line) => console.log(`  ${line.slice(0, 200)}`),
  });
  let record: FileRecord | undefined;
  let splitSeconds = 0;
  let uploadSeconds = 0;
  const split = { output: hashSink(), rejects: hashSink() };
  let parts = 0;
  try {
    const { s3, sqs } = platform.emulators;
    const buckets = LOCAL_NAMES.buckets;
    started = performance.now();
    const put = await new Upload({
      client: s3,
      params: { Bucket: buckets.inbound, Key: KEY, Body: createReadStream(path, { highWaterMark: 8 << 20 }) },
      partSize: 8 * 1024 * 1024, // fauxqs refuses larger request bodies
      queueSize: 4,
    }).done();
    uploadSeconds = seconds(started);
    const object: ObjectCreated = {
      bucket: buckets.inbound,
      key: KEY,
      etag: (put.ETag ?? '').replace(/"/g, ''),
      size,
      sequencer: nextSequencer(),
      time: new Date().toISOString(),
      ...(put.VersionId ? { versionId: put.VersionId } : {}),
    };
    started = performance.now();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: platform.queues.get('bench/events')!.url,
        MessageBody: JSON.stringify(objectCreatedEvent(object)),
      }),
    );
    for (;;) {
      const history = await platform.ledger.history(buckets.inbound, KEY);
      record = history.find((r) => FINAL_STATUSES.includes(r.status));
      if (record) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    splitSeconds = seconds(started);
    const read = async (bucket: string, key: string, sink: Writable) => {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      for await (const part of got.Body as AsyncIterable<Buffer>) if (!sink.write(part)) await new Promise((r) => sink.once('drain', r));
    };
    if (record.manifestKey) {
      const manifest = JSON.parse(
        await (await s3.send(new GetObjectCommand({ Bucket: buckets.output, Key: record.manifestKey }))).Body!.transformToString(),
      ) as { output: { parts: { key: string }[] } };
      parts = manifest.output.parts.length;
      for (const part of manifest.output.parts) await read(buckets.output, part.key, split.output.stream);
    }
    if (record.rejectsKey) await read(buckets.rejects, record.rejectsKey, split.rejects.stream);
  } finally {
    await platform.stop();
  }
  console.log(
    `split: ${record.status} ${record.rowsIn} in, ${record.rowsOut} out, ${record.rowsRejected} rejected, ${parts} parts in ${splitSeconds.toFixed(1)} s ` +
      `from the event to the final status (${(mb(size) / splitSeconds).toFixed(1)} MB/s, ${workers} worker threads; upload took ${uploadSeconds.toFixed(1)} s)`,
  );

  const equal = {
    status: record.status === wholeOutcome.status,
    counts:
      record.rowsIn === wholeOutcome.rowsIn && record.rowsOut === wholeOutcome.rowsOut && record.rowsRejected === wholeOutcome.rowsRejected,
    output: split.output.digest() === whole.output.digest(),
    rejects: split.rejects.digest() === whole.rejects.digest(),
  };
  const peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  const results = {
    date: new Date().toISOString(),
    machine: { cores: availableParallelism(), loadAverage: loadavg().map((l) => Math.round(l * 10) / 10), node: process.version },
    rows,
    bytes: size,
    chunkMiB,
    chunks: plan.chunks.length,
    workers,
    plan: { seconds: planSeconds, mbPerSecond: mb(size) / planSeconds },
    whole: { seconds: wholeSeconds, mbPerSecond: mb(size) / wholeSeconds, rowsIn: wholeOutcome.rowsIn, rowsOut: wholeOutcome.rowsOut },
    split: { seconds: splitSeconds, mbPerSecond: mb(size) / splitSeconds, uploadSeconds, parts },
    outputSha256: whole.output.digest(),
    equal,
    peakRssMiB,
  };
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(join(import.meta.dirname, 'results/split-latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`equal to the whole-file run: ${JSON.stringify(equal)}; output sha256 ${results.outputSha256}`);
  console.log(`peak RSS ${peakRssMiB} MiB (this process: the emulators holding input and output, the worker threads, the whole run)`);
  if (!Object.values(equal).every(Boolean)) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
