/**
 * The steps of a split run, on the transformer's ports (object store, ledger, events), so the same
 * code runs as Step Functions tasks (split-handler.ts) and in the local worker pool:
 *
 * 1. `planStep`: checks the run still holds the file, reads the file once and plans its chunks
 *    (engine/split.ts); the chunk list goes to the rejects bucket for the Distributed Map to read.
 * 2. `chunkStep`, once per chunk, in parallel: a ranged read through the engine into the chunk's
 *    output part and rejects part, and its outcome as a small result file.
 * 3. `reduceStep`: the file's outcome from the chunks' (`maxRejectedPercent` on the whole file);
 *    parts of a FAILED file removed; one rejects file in file order; the manifest listing the parts;
 *    the final status recorded once in the ledger; the downstream event.
 * 4. `failStep`, when a step failed past its retries: FAILED (`RETRIES_EXHAUSTED`), nothing published.
 *
 * Every step may run twice (a retry after a crash): each one overwrites the same keys, and the final
 * status is written by a conditional update only the handed-over attempt can make.
 */
import type { Writable } from 'node:stream';
import type { ObjectStore } from '../adapters/object-store.js';
import { chunkFeed, chunkStart, combineChunks, planSplit, type SplitChunk, type SplitPlan } from '../engine/split.js';
import type { FileError, FileOutcome } from '../engine/outcome.js';
import { transformFile, type CompiledFeed } from '../engine/transform.js';
import type { ObjectCreated } from '../intake.js';
import { versionRef, type FileRecord, type FinalUpdate } from '../ledger/file-ledger.js';
import { resolveFeed, type FeedConfig } from '../model.js';
import { outputKeys, splitKeys, type OutputKeys, type SplitKeys } from '../output-keys.js';
import { manifestSchema, publishIfPublished, sendEvent, summaryOf, unpublish, type ProcessorDeps } from '../process-object.js';
import { splitRunName, type SplitRunInput } from './split-runner.js';

export type SplitDeps = Omit<ProcessorDeps, 'split'>;
/** What a chunk needs: no ledger and no events (in AWS, the chunk function's role has neither). */
export type ChunkDeps = Pick<SplitDeps, 'config' | 'configHash' | 'feeds' | 'store' | 'outputBucket' | 'rejectsBucket'>;

/** What the plan hands to the map and the reduce: the run, and what every chunk needs to start reading. */
export interface PlannedRun extends SplitRunInput {
  readonly chunks: number;
  readonly encoding: SplitPlan['encoding'];
  readonly bomLength: number;
  readonly columns: readonly string[];
  /** Rejects bucket: the chunk list, a JSON array of `SplitChunk`. */
  readonly planKey: string;
  readonly startedAt: number;
  /** Chunks running at once: the feed's `concurrency`. */
  readonly concurrency: number;
}

/** What one chunk left for the reduce. */
interface ChunkResult {
  readonly attempt: number;
  readonly index: number;
  readonly outcome: FileOutcome;
}

/** The run was started under another config than this code carries: a deploy happened mid-run. */
export class ConfigChangedError extends Error {
  override readonly name = 'ConfigChangedError';
}

/** Bytes per ranged read while planning, and how many are in flight: S3 serves parallel ranges faster than one stream. */
const PLAN_READ_BYTES = 8 * 1024 * 1024;
const PLAN_READ_AHEAD = 4;
/** Result files read at once by the reduce. */
const REDUCE_READS = 16;

function context(deps: ChunkDeps, input: SplitRunInput): { feed: CompiledFeed; config: FeedConfig; keys: OutputKeys; split: SplitKeys } {
  if (input.configHash !== deps.configHash) {
    throw new ConfigChangedError(
      `the run was planned under config ${input.configHash.slice(0, 12)}, this code carries ${deps.configHash.slice(0, 12)}: reprocess the file`,
    );
  }
  const config = resolveFeed(deps.config, input.object.key);
  if (!config) throw new Error(`no feed's prefix and suffix match ${input.object.key} [UNKNOWN_FEED]`);
  const keys = outputKeys(config, input.object.key, versionRef(input.object), new Date(input.object.time));
  return { feed: deps.feeds.get(`${config.partner}/${config.id}`)!, config, keys, split: splitKeys(keys) };
}

/** The version's ledger record if the run's attempt still holds it (PROCESSING, handed over to this run). */
async function heldRecord(deps: SplitDeps, input: SplitRunInput): Promise<FileRecord | undefined> {
  const history = await deps.ledger.history(input.object.bucket, input.object.key);
  const record = history.find((r) => r.sequencer === input.object.sequencer && versionRef(r) === versionRef(input.object));
  const held =
    record?.status === 'PROCESSING' && record.attempts === input.attempt && record.splitRun === splitRunName(input.object, input.attempt);
  return held ? record : undefined;
}

/** Plans the file; a run that no longer holds its file plans nothing (zero chunks) and its reduce does nothing. */
export async function planStep(deps: SplitDeps, input: SplitRunInput): Promise<PlannedRun> {
  const { feed, config, split } = context(deps, input);
  const startedAt = Date.now();
  const none: PlannedRun = {
    ...input,
    chunks: 0,
    encoding: config.csv.encoding,
    bomLength: 0,
    columns: [],
    planKey: split.plan,
    startedAt,
    concurrency: config.concurrency,
  };
  if (!(await heldRecord(deps, input))) return none;
  const { object } = input;
  const plan = await planSplit(feed, readAhead(deps.store, object), object.size, config.split!.chunkMiB * 1024 * 1024);
  await deps.store.put(deps.rejectsBucket, split.plan, JSON.stringify(plan.chunks), 'application/json');
  return { ...none, chunks: plan.chunks.length, encoding: plan.encoding, bomLength: plan.bomLength, columns: plan.columns };
}

/** The chunk list the plan wrote (the Distributed Map reads it with its ItemReader; the local pool reads it here). */
export async function readPlan(deps: SplitDeps, run: PlannedRun): Promise<SplitChunk[]> {
  if (run.chunks === 0) return [];
  return JSON.parse(await readText(deps.store, deps.rejectsBucket, run.planKey)) as SplitChunk[];
}

/** Runs one chunk through the engine into its parts; returns its counts (the full result is in the rejects bucket). */
export async function chunkStep(
  deps: ChunkDeps,
  run: PlannedRun,
  chunk: SplitChunk,
): Promise<{ index: number; rowsIn: number; rowsOut: number; rowsRejected: number }> {
  const { feed, config, split } = context(deps, run);
  const { object } = run;
  const source = await deps.store.open(object.bucket, object.key, object.versionId, { start: chunk.start, end: chunk.end });
  if (!source) throw new Error(`${object.key} (version ${versionRef(object)}) no longer exists`);
  const contentType = config.output.format === 'json' ? 'application/json' : 'application/x-ndjson';
  const output = deps.store.upload(deps.outputBucket, split.part(chunk.index), contentType);
  const rejects = deps.store.upload(deps.rejectsBucket, split.rejectsPart(chunk.index), 'application/x-ndjson');
  const plan: SplitPlan = { encoding: run.encoding, bomLength: run.bomLength, columns: run.columns, chunks: [], sizeBytes: object.size };
  const start = chunkStart(plan, chunk);
  let outcome: FileOutcome;
  try {
    outcome = await transformFile(chunkFeed(feed), {
      key: object.key,
      input: source.body,
      output: output.stream,
      rejects: rejects.stream,
      ...(start ? { start } : {}),
    });
  } catch (err) {
    await Promise.allSettled([output.abort(), rejects.abort()]);
    throw err;
  } finally {
    source.body.destroy();
  }
  await output.commit();
  await (outcome.rowsRejected > 0 ? rejects.commit() : rejects.abort());
  const result: ChunkResult = { attempt: run.attempt, index: chunk.index, outcome };
  await deps.store.put(deps.rejectsBucket, split.result(chunk.index), JSON.stringify(result), 'application/json');
  return { index: chunk.index, rowsIn: outcome.rowsIn, rowsOut: outcome.rowsOut, rowsRejected: outcome.rowsRejected };
}

/** Joins the chunks into the file's outcome, publishes or removes the parts, and records the final status once. */
export async function reduceStep(deps: SplitDeps, run: PlannedRun): Promise<FileRecord | undefined> {
  const { config, keys, split } = context(deps, run);
  const { object } = run;
  const held = await heldRecord(deps, run);
  if (!held) return healFinished(deps, config, run);

  const results: ChunkResult[] = [];
  for (let from = 0; from < run.chunks; from += REDUCE_READS) {
    const indexes = Array.from({ length: Math.min(REDUCE_READS, run.chunks - from) }, (_, i) => from + i);
    results.push(
      ...(await Promise.all(
        indexes.map(async (i) => JSON.parse(await readText(deps.store, deps.rejectsBucket, split.result(i))) as ChunkResult),
      )),
    );
  }
  const stale = results.find((r, i) => r.attempt !== run.attempt || r.index !== i);
  if (stale) throw new Error(`chunk result ${stale.index + 1} belongs to attempt ${stale.attempt}, not ${run.attempt}`);
  const { outcome, chunksUsed } = combineChunks(
    config,
    object.key,
    results.map((r) => r.outcome),
    { durationMs: Date.now() - run.startedAt },
  );
  const published = outcome.status !== 'FAILED';

  // Parts not of the file: all of them for a FAILED file, those past the plan (an older plan's) otherwise.
  const parts = new Set(published ? Array.from({ length: run.chunks }, (_, i) => split.part(i)) : []);
  const present = await deps.store.list(deps.outputBucket, split.partsPrefix);
  await Promise.all(present.filter((key) => !parts.has(key)).map((key) => deps.store.delete(deps.outputBucket, key)));
  if (!published) await deps.store.delete(deps.outputBucket, keys.manifest);

  // One rejects file, byte for byte the whole-file run's: the chunks' rejects in file order.
  if (outcome.rowsRejected > 0) {
    const rejects = deps.store.upload(deps.rejectsBucket, keys.rejects, 'application/x-ndjson');
    try {
      for (const r of results.slice(0, chunksUsed)) {
        if (r.outcome.rowsRejected === 0) continue;
        const part = await deps.store.open(deps.rejectsBucket, split.rejectsPart(r.index));
        if (!part) throw new Error(`rejects of chunk ${r.index + 1} are missing`);
        for await (const bytes of part.body) if (!rejects.stream.write(bytes)) await drained(rejects.stream);
      }
    } catch (err) {
      await rejects.abort();
      throw err;
    }
    await rejects.commit();
  }

  const summary = summaryOf(outcome, object, deps.configHash);
  if (published) {
    const manifest = {
      ...summary,
      output: {
        bucket: deps.outputBucket,
        parts: results.map((r) => ({ key: split.part(r.index), records: r.outcome.rowsOut })),
      },
      split: { chunks: run.chunks, sizeBytes: object.size },
      ...manifestSchema(config),
    };
    await deps.store.put(deps.outputBucket, keys.manifest, JSON.stringify(manifest, null, 2), 'application/json');
  }
  await deps.store.put(
    deps.rejectsBucket,
    keys.summary,
    JSON.stringify({ ...summary, split: { chunks: run.chunks } }, null, 2),
    'application/json',
  );
  const update: FinalUpdate = {
    configHash: deps.configHash,
    status: outcome.status,
    rowsIn: outcome.rowsIn,
    rowsOut: outcome.rowsOut,
    rowsRejected: outcome.rowsRejected,
    errors: outcome.errors,
    ...(outcome.warnings ? { warnings: outcome.warnings } : {}),
    durationMs: outcome.durationMs,
    summaryKey: keys.summary,
    // A split file's output is its manifest, which lists the parts in order.
    ...(published ? { outputKey: keys.manifest, manifestKey: keys.manifest } : {}),
    ...(outcome.rowsRejected > 0 ? { rejectsKey: keys.rejects } : {}),
  };
  return finish(deps, config, run, held, update);
}

/** After a step failed past its retries: FAILED, nothing published, the event sent. */
export async function failStep(deps: SplitDeps, input: SplitRunInput, cause: string): Promise<FileRecord | undefined> {
  const { config, keys } = context(deps, input);
  const held = await heldRecord(deps, input);
  if (!held) return healFinished(deps, config, input);
  await unpublish(deps, config, keys);
  const error: FileError = { code: 'RETRIES_EXHAUSTED', message: `the split run failed: ${cause}`.slice(0, 2000) };
  const summary = {
    ...summaryOf({ ...emptyOutcome(config, input.object), status: 'FAILED', errors: [error] }, input.object, deps.configHash),
  };
  await deps.store.put(deps.rejectsBucket, keys.summary, JSON.stringify(summary, null, 2), 'application/json');
  const update: FinalUpdate = {
    configHash: deps.configHash,
    status: 'FAILED',
    rowsIn: 0,
    rowsOut: 0,
    rowsRejected: 0,
    errors: [error],
    durationMs: 0,
    summaryKey: keys.summary,
  };
  return finish(deps, config, input, held, update);
}

async function finish(
  deps: SplitDeps,
  config: FeedConfig,
  run: SplitRunInput,
  held: FileRecord,
  update: FinalUpdate,
): Promise<FileRecord | undefined> {
  if (!(await deps.ledger.complete(run.object, run.attempt, update))) return healFinished(deps, config, run);
  const record = { ...held, ...update, status: update.status } as FileRecord;
  await publishIfPublished(deps, run.object, record);
  await sendEvent(deps, config, run.object, record);
  await removeWork(deps, splitKeys(outputKeys(config, run.object.key, versionRef(run.object), new Date(run.object.time))));
  return record;
}

/**
 * A step ran again after the final status was recorded (a retry after a crash): the pointer and the
 * event are made sure of, nothing else. A run superseded by a newer attempt does nothing at all.
 */
async function healFinished(deps: SplitDeps, config: FeedConfig, run: SplitRunInput): Promise<FileRecord | undefined> {
  const history = await deps.ledger.history(run.object.bucket, run.object.key);
  const record = history.find((r) => r.sequencer === run.object.sequencer && versionRef(r) === versionRef(run.object));
  if (!record || record.attempts !== run.attempt || record.status === 'PROCESSING' || record.status === 'RECEIVED') return undefined;
  if (!record.eventSent) {
    await publishIfPublished(deps, run.object, record);
    await sendEvent(deps, config, run.object, record);
  }
  return record;
}

/** Chunk results, rejects parts and the plan: the run's working files, gone once the status is recorded. */
async function removeWork(deps: SplitDeps, split: SplitKeys): Promise<void> {
  const work = await deps.store.list(deps.rejectsBucket, split.workPrefix);
  await Promise.all(work.map((key) => deps.store.delete(deps.rejectsBucket, key)));
}

function emptyOutcome(config: FeedConfig, object: ObjectCreated): FileOutcome {
  return {
    status: 'FAILED',
    partner: config.partner,
    feed: config.id,
    key: object.key,
    rowsIn: 0,
    rowsOut: 0,
    rowsRejected: 0,
    errors: [],
    bytesIn: 0,
    durationMs: 0,
  };
}

/** The object in order, through parallel ranged reads (`PLAN_READ_AHEAD` of `PLAN_READ_BYTES` in flight). */
async function* readAhead(store: ObjectStore, object: ObjectCreated): AsyncGenerator<Uint8Array> {
  const ranges: { start: number; end: number }[] = [];
  for (let start = 0; start < object.size; start += PLAN_READ_BYTES)
    ranges.push({ start, end: Math.min(object.size, start + PLAN_READ_BYTES) });
  const fetch = async (range: { start: number; end: number }): Promise<Buffer> => {
    const source = await store.open(object.bucket, object.key, object.versionId, range);
    if (!source) throw new Error(`${object.key} (version ${versionRef(object)}) no longer exists`);
    const parts: Buffer[] = [];
    for await (const part of source.body) parts.push(part as Buffer);
    return Buffer.concat(parts);
  };
  const inFlight: Promise<Buffer>[] = [];
  let next = 0;
  while (next < ranges.length || inFlight.length > 0) {
    while (next < ranges.length && inFlight.length < PLAN_READ_AHEAD) {
      const pending = fetch(ranges[next++]!);
      pending.catch(() => undefined); // observed in order below
      inFlight.push(pending);
    }
    yield await inFlight.shift()!;
  }
}

async function readText(store: ObjectStore, bucket: string, key: string): Promise<string> {
  const source = await store.open(bucket, key);
  if (!source) throw new Error(`${bucket}/${key} is missing`);
  const parts: Buffer[] = [];
  for await (const part of source.body) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => stream.once('drain', () => resolve()));
}
