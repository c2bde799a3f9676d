import { createHash } from 'node:crypto';
import type { EventPublisher, ObjectStore, PendingUpload } from './adapters/object-store.js';
import { listedErrors, type FileError, type FileOutcome } from './engine/outcome.js';
import { RejectCsvWriter, rejectSummaryHtml, rejectSummaryText, type RejectTally } from './engine/reject-report.js';
import { transformFile, type CompiledFeed } from './engine/transform.js';
import type { ObjectCreated } from './intake.js';
import { PoisonMessageError } from './intake.js';
import { versionRef, type FileLedger, type FileRecord, type FinalUpdate } from './ledger/file-ledger.js';
import { EVENTS } from './metrics-names.js';
import { resolveFeed, runsSplit, type FeedConfig, type PlatformConfig } from './model.js';
import { outputKeys, rejectReportKeys, splitKeys, type OutputKeys } from './output-keys.js';
import { SPLIT_LEASE_MS, splitRunName, type SplitRunner } from './split/split-runner.js';

export interface ProcessorDeps {
  readonly config: PlatformConfig;
  readonly configHash: string;
  /** Compiled feeds by `partner/feed`, built once per process. */
  readonly feeds: ReadonlyMap<string, CompiledFeed>;
  readonly inboundBucket: string;
  readonly outputBucket: string;
  readonly rejectsBucket: string;
  readonly ledger: FileLedger;
  readonly store: ObjectStore;
  readonly events: EventPublisher;
  /** Where files of feeds with `split` go when they are above the threshold; without it every file runs whole. */
  readonly split?: SplitRunner;
}

export interface InvocationContext {
  readonly requestId: string;
  /** Time left in this invocation: the claim's lease. */
  readonly remainingMs: () => number;
  /** This delivery is the queue's last before the dead-letter queue: a failure now is final. */
  readonly lastDelivery?: boolean;
  /**
   * An error the attempt handled itself: a cleanup after a failure that failed too, or a publication
   * step retried. The error that decides the message is thrown; these are logged and counted, never dropped.
   */
  readonly stepFailed: (step: AttemptStep, object: ObjectCreated, error: unknown) => void;
}

/**
 * Steps that handle an error inside an attempt: aborting the uploads of a failed attempt, giving its
 * claim back, recording the final FAILED on the last delivery, moving the pointer and sending the event.
 */
export type AttemptStep = 'abort-uploads' | 'release-claim' | 'record-final-failure' | 'publish';

/** In-process tries of a step that must not be left to a redelivery (there may be none). */
export const STEP_TRIES = 3;

/** Runs a step up to STEP_TRIES times, reporting each failure; true when it succeeded. */
async function tryStep(ctx: InvocationContext, step: AttemptStep, object: ObjectCreated, run: () => Promise<unknown>): Promise<boolean> {
  for (let i = 0; i < STEP_TRIES; i++) {
    try {
      await run();
      return true;
    } catch (err) {
      ctx.stepFailed(step, object, err);
    }
  }
  return false;
}

/** What became of one object in this invocation. */
export type ProcessResult =
  | {
      readonly kind: 'processed';
      readonly feed: FeedConfig;
      readonly status: FinalUpdate['status'];
      readonly outcome: FileOutcome;
      readonly attempt: number;
    }
  | { readonly kind: 'already-finished'; readonly feed: FeedConfig; readonly record: FileRecord }
  /** Another invocation holds a live claim: the message is retried later. */
  | { readonly kind: 'busy'; readonly feed: FeedConfig; readonly leaseUntil: number }
  /** A split run owns the file now and records its final status; the message is done. */
  | { readonly kind: 'handed-over'; readonly feed: FeedConfig; readonly run: string; readonly attempt: number };

/** The message is fine but must come back later (another attempt holds the file). */
export class RetryLaterError extends Error {
  override readonly name = 'RetryLaterError';
}

/** A key that no feed's prefix and suffix match: the message goes to the dead-letter queue, never borrowing a config. */
export class UnknownFeedError extends PoisonMessageError {
  override readonly name: string = 'UnknownFeedError';
  readonly code = 'UNKNOWN_FEED';
}

/** Safety margin between the lease and the invocation's deadline. */
const LEASE_MARGIN_MS = 2000;
/** How long a duplicate delivery waits for the attempt holding the file, and how often it looks. */
const BUSY_WAIT_MS = 20_000;
const BUSY_POLL_MS = 100;

/**
 * Removes what an earlier attempt at a version may have left (keys are deterministic per version):
 * a FAILED or DUPLICATE version publishes nothing (no output, no split run's parts, no manifest)
 * and keeps no other attempt's rejects or summary: only those its final record names (`kept`).
 */
export async function unpublish(
  deps: Pick<ProcessorDeps, 'store' | 'outputBucket' | 'rejectsBucket'>,
  config: FeedConfig,
  keys: OutputKeys,
  kept: Pick<FileRecord, 'rejectsKey' | 'summaryKey'> = {},
): Promise<void> {
  // Only a feed that splits can have parts (and only its role may list its output prefix).
  const parts = config.split ? await deps.store.list(deps.outputBucket, splitKeys(keys).partsPrefix) : [];
  const ownRejects = [kept.rejectsKey, kept.summaryKey];
  // The partner's reject report belongs to the attempt whose summary the final record keeps.
  const report = kept.summaryKey === keys.summary ? [] : [keys.rejectsCsv, keys.reportText, keys.reportHtml];
  await Promise.all([
    ...[keys.output, keys.manifest, ...parts].map((key) => deps.store.delete(deps.outputBucket, key)),
    ...[keys.rejects, keys.summary]
      .filter((key) => !ownRejects.includes(key))
      .concat(report)
      .map((key) => deps.store.delete(deps.rejectsBucket, key)),
  ]);
}

/** Points the key's latest-published pointer at this version if it was published (idempotent). */
export async function publishIfPublished(deps: ProcessorDeps, object: ObjectCreated, record: FileRecord): Promise<void> {
  if ((record.status !== 'SUCCEEDED' && record.status !== 'PARTIAL') || !record.outputKey) return;
  await deps.ledger.publishLatest(object, {
    versionRef: versionRef(object),
    sequencer: object.sequencer,
    etag: object.etag,
    configHash: record.configHash ?? deps.configHash,
    outputKey: record.outputKey,
  });
}

/**
 * Processes one object version exactly once in effect: claim it in the ledger, stream it through the
 * engine into the output and rejects locations, record the final status, move the key's latest
 * pointer, send the downstream event. Duplicate deliveries of a finished version do no work; a
 * failed attempt releases its claim and rethrows so the message is retried.
 */
export async function processObject(deps: ProcessorDeps, object: ObjectCreated, ctx: InvocationContext): Promise<ProcessResult> {
  if (object.bucket !== deps.inboundBucket) {
    throw new PoisonMessageError(`object ${object.bucket}/${object.key} is not in the inbound bucket ${deps.inboundBucket}`);
  }
  const config = resolveFeed(deps.config, object.key);
  if (!config) throw new UnknownFeedError(`no feed's prefix and suffix match ${object.key} [UNKNOWN_FEED]`);
  const feed = deps.feeds.get(`${config.partner}/${config.id}`)!;

  const owner = { partner: config.partner, feed: config.id, requestId: ctx.requestId };
  let claim = await deps.ledger.claim(object, { ...owner, leaseMs: Math.max(1000, ctx.remainingMs() - LEASE_MARGIN_MS) });
  // A concurrent duplicate delivery waits a little for the attempt that holds the file, so that
  // short files need no redelivery; a long one is left for later.
  const waitUntil = Date.now() + Math.min(BUSY_WAIT_MS, Math.max(0, ctx.remainingMs() - LEASE_MARGIN_MS * 2));
  while (claim.kind === 'busy' && Date.now() < waitUntil) {
    await new Promise((resolve) => setTimeout(resolve, BUSY_POLL_MS));
    claim = await deps.ledger.claim(object, { ...owner, leaseMs: Math.max(1000, ctx.remainingMs() - LEASE_MARGIN_MS) });
  }
  if (claim.kind === 'busy' && claim.splitRun && deps.split) {
    // The file was handed over to a split run: make sure it started (idempotent by name), and acknowledge.
    await deps.split.start(claim.splitRun.name, { object, attempt: claim.splitRun.attempt, configHash: deps.configHash });
    return { kind: 'handed-over', feed: config, run: claim.splitRun.name, attempt: claim.splitRun.attempt };
  }
  if (claim.kind === 'busy') return { kind: 'busy', feed: config, leaseUntil: claim.leaseUntil };
  if (claim.kind === 'finished') {
    // A crash between the final status and the pointer or the event is healed by the next delivery.
    if (!claim.record.eventSent) {
      if (claim.record.status === 'FAILED') {
        // what an earlier attempt left goes; the rejects and summary of the attempt that recorded FAILED stay
        await unpublish(deps, config, outputKeys(config, object.key, versionRef(object), new Date(object.time)), claim.record);
      }
      await publishIfPublished(deps, object, claim.record);
      await sendEvent(deps, config, object, claim.record);
    }
    return { kind: 'already-finished', feed: config, record: claim.record };
  }
  const attempt = claim.attempt;
  let record: FileRecord | undefined; // set once this attempt has recorded the final status
  try {
    if (ctx.lastDelivery) {
      await deps.ledger.failAhead(
        object,
        attempt,
        `attempt ${attempt}, the queue's last delivery, did not finish; the message is in the dead-letter queue`,
      );
    }
    const ran = await runAttempt(deps, feed, object, ctx);
    if (ran === 'split') {
      const run = splitRunName(object, attempt);
      if (!(await deps.ledger.handOver(object, attempt, run, SPLIT_LEASE_MS))) {
        throw new RetryLaterError(`attempt ${attempt} of ${object.key} lost its claim to a newer attempt`);
      }
      await deps.split!.start(run, { object, attempt, configHash: deps.configHash });
      return { kind: 'handed-over', feed: config, run, attempt };
    }
    const { update, outcome } = ran;
    if (!(await deps.ledger.complete(object, attempt, update))) {
      throw new RetryLaterError(`attempt ${attempt} of ${object.key} lost its claim to a newer attempt`);
    }
    record = { ...claim.record, ...update, status: update.status } as FileRecord;
    const final = record;
    try {
      await publishIfPublished(deps, object, final);
      await sendEvent(deps, config, object, final);
    } catch (err) {
      // The status is final: the pointer and the event are tried again here rather than left to a
      // redelivery, which the last delivery does not have.
      ctx.stepFailed('publish', object, err);
      if (
        !(await tryStep(ctx, 'publish', object, () =>
          publishIfPublished(deps, object, final).then(() => sendEvent(deps, config, object, final)),
        ))
      ) {
        throw err;
      }
    }
    return { kind: 'processed', feed: config, status: update.status, outcome, attempt };
  } catch (err) {
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    if (ctx.lastDelivery && !record) {
      // The message goes to the dead-letter queue after this: the ledger says FAILED instead of
      // waiting forever. Recorded first (only if this attempt still holds the version: a lost answer
      // from its own final write must not unpublish a version that succeeded), then anything an
      // earlier attempt uploaded is removed, then the event. The error that ended the attempt is thrown.
      const update: FinalUpdate = {
        configHash: deps.configHash,
        status: 'FAILED',
        rowsIn: 0,
        rowsOut: 0,
        rowsRejected: 0,
        errors: [
          {
            code: 'RETRIES_EXHAUSTED',
            message: `attempt ${attempt} failed on the last delivery (${reason}); the message is in the dead-letter queue`,
          },
        ],
        durationMs: 0,
      };
      let recorded = false;
      await tryStep(ctx, 'record-final-failure', object, async () => {
        recorded = await deps.ledger.complete(object, attempt, update);
      });
      if (recorded) {
        const failed = { ...claim.record, ...update } as FileRecord;
        await tryStep(ctx, 'record-final-failure', object, async () => {
          await unpublish(deps, config, outputKeys(config, object.key, versionRef(object), new Date(object.time)));
          await sendEvent(deps, config, object, failed);
        });
      }
    } else {
      // Gives the claim back (or, after the final status, the right to publish it) so the redelivery need not wait for the lease.
      await deps.ledger.release(object, attempt, reason).catch((stepError: unknown) => ctx.stepFailed('release-claim', object, stepError));
    }
    throw err;
  }
}

async function runAttempt(
  deps: ProcessorDeps,
  feed: CompiledFeed,
  object: ObjectCreated,
  ctx: InvocationContext,
): Promise<{ update: FinalUpdate; outcome: FileOutcome } | 'split'> {
  const config = feed.config;
  const ref = versionRef(object);
  const keys = outputKeys(config, object.key, ref, new Date(object.time));
  const base = { configHash: deps.configHash };

  const latest = await deps.ledger.latestPublished(object.bucket, object.key);
  if (latest && latest.versionRef !== ref && latest.etag === object.etag && latest.configHash === deps.configHash) {
    // An earlier attempt at this version may have uploaded its output before crashing: a DUPLICATE publishes nothing.
    await unpublish(deps, config, keys);
    const outcome = syntheticOutcome(config, object);
    return {
      outcome,
      update: {
        ...base,
        status: 'DUPLICATE',
        rowsIn: 0,
        rowsOut: 0,
        rowsRejected: 0,
        errors: [],
        durationMs: 0,
        duplicateOf: latest.versionRef,
        outputKey: latest.outputKey,
      },
    };
  }

  // An oversized file is not opened: the engine refuses it from its size (TOO_LARGE).
  const tooLarge = object.size > config.maxFileMiB * 1024 * 1024;
  if (deps.split && runsSplit(config, object.size)) return 'split';
  const source = tooLarge ? undefined : await deps.store.open(object.bucket, object.key, object.versionId);
  if (!source && !tooLarge) {
    const error: FileError = { code: 'OBJECT_NOT_FOUND', message: `${object.key} (version ${ref}) no longer exists; nothing to process` };
    return finishFailed(deps, config, object, keys.summary, error);
  }

  const output = deps.store.upload(
    deps.outputBucket,
    keys.output,
    config.output.format === 'json' ? 'application/json' : 'application/x-ndjson',
  );
  const rejects = deps.store.upload(deps.rejectsBucket, keys.rejects, 'application/x-ndjson');
  // The partner's copy of the rejected rows, in the file's own form (its charset is the declared one; a BOM may override it).
  const rejectsCsv = deps.store.upload(deps.rejectsBucket, keys.rejectsCsv, 'text/csv');
  const report = new RejectCsvWriter(rejectsCsv.stream, config.csv);
  // Every upload ends committed or aborted, whatever fails: an open one holds its stream and its parts.
  const open = new Set([output, rejects, rejectsCsv]);
  const settle = async (upload: PendingUpload, commit: boolean) => {
    await (commit ? upload.commit() : upload.abort());
    open.delete(upload);
  };
  let outcome: FileOutcome;
  try {
    outcome = await transformFile(feed, {
      key: object.key,
      input: source?.body ?? emptyInput(),
      output: output.stream,
      rejects: rejects.stream,
      sizeBytes: object.size,
      rejectReport: report,
    });
    await settle(output, outcome.status !== 'FAILED');
    await settle(rejects, outcome.rowsRejected > 0);
    await settle(rejectsCsv, outcome.rowsRejected > 0);
  } catch (err) {
    for (const aborted of await Promise.allSettled([...open].map((upload) => upload.abort()))) {
      if (aborted.status === 'rejected') ctx.stepFailed('abort-uploads', object, aborted.reason);
    }
    throw err;
  } finally {
    source?.body.destroy(); // always: an unread body holds its socket
  }

  const published = outcome.status !== 'FAILED';
  const summary = summaryOf(outcome, object, deps.configHash);
  if (published) {
    await deps.store.put(
      deps.outputBucket,
      keys.manifest,
      JSON.stringify({ ...summary, output: { bucket: deps.outputBucket, key: keys.output }, ...manifestSchema(config) }, null, 2),
      'application/json',
    );
  }
  await deps.store.put(deps.rejectsBucket, keys.summary, JSON.stringify(summary, null, 2), 'application/json');
  if (outcome.status !== 'SUCCEEDED') await writeRejectSummary(deps, keys, outcome, outcome.rowsRejected > 0 ? report.tally() : undefined);
  return {
    outcome,
    update: {
      ...base,
      status: outcome.status,
      rowsIn: outcome.rowsIn,
      rowsOut: outcome.rowsOut,
      rowsRejected: outcome.rowsRejected,
      errors: outcome.errors,
      ...(outcome.warnings ? { warnings: outcome.warnings } : {}),
      durationMs: outcome.durationMs,
      summaryKey: keys.summary,
      ...(published ? { outputKey: keys.output, manifestKey: keys.manifest } : {}),
      ...(outcome.rowsRejected > 0 ? { rejectsKey: keys.rejects } : {}),
    },
  };
}

/**
 * The one-page summary of a PARTIAL or FAILED file for the partner, as text and HTML, beside its
 * rejects and `<name>.rejects.csv` (written while the file ran, when rows were rejected).
 */
export async function writeRejectSummary(
  deps: Pick<ProcessorDeps, 'store' | 'rejectsBucket'>,
  keys: Pick<OutputKeys, 'rejectsCsv' | 'reportText' | 'reportHtml'>,
  outcome: FileOutcome,
  tally: RejectTally | undefined,
): Promise<void> {
  const file = { key: outcome.key, ...(tally ? { reportKey: keys.rejectsCsv } : {}) };
  await Promise.all([
    deps.store.put(deps.rejectsBucket, keys.reportText, rejectSummaryText(outcome, tally, file), 'text/plain; charset=utf-8'),
    deps.store.put(deps.rejectsBucket, keys.reportHtml, rejectSummaryHtml(outcome, tally, file), 'text/html; charset=utf-8'),
  ]);
}

async function finishFailed(
  deps: ProcessorDeps,
  config: FeedConfig,
  object: ObjectCreated,
  summaryKey: string,
  error: FileError,
): Promise<{ update: FinalUpdate; outcome: FileOutcome }> {
  const outcome: FileOutcome = { ...syntheticOutcome(config, object), status: 'FAILED', errors: [error] };
  await deps.store.put(
    deps.rejectsBucket,
    summaryKey,
    JSON.stringify(summaryOf(outcome, object, deps.configHash), null, 2),
    'application/json',
  );
  await writeRejectSummary(deps, rejectReportKeys(summaryKey), outcome, undefined);
  return {
    outcome,
    update: {
      configHash: deps.configHash,
      status: 'FAILED',
      rowsIn: 0,
      rowsOut: 0,
      rowsRejected: 0,
      errors: [error],
      durationMs: 0,
      summaryKey,
    },
  };
}

/** An outcome for a file the engine did not run on (a duplicate, a vanished object). */
function syntheticOutcome(config: FeedConfig, object: ObjectCreated): FileOutcome {
  return {
    status: 'SUCCEEDED',
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

/** The manifest's contract fields: the schema file, and its version and major when it has one. */
export function manifestSchema(config: FeedConfig): { schema: string; schemaVersion?: string; schemaMajor?: number } {
  if (!config.schemaVersion) return { schema: config.schemaFile };
  return { schema: config.schemaFile, schemaVersion: config.schemaVersion, schemaMajor: Number(config.schemaVersion.split('.')[0]) };
}

export function summaryOf(outcome: FileOutcome, object: ObjectCreated, configHash: string) {
  return {
    status: outcome.status,
    partner: outcome.partner,
    feed: outcome.feed,
    key: object.key,
    versionId: object.versionId ?? null,
    etag: object.etag,
    rowsIn: outcome.rowsIn,
    rowsOut: outcome.rowsOut,
    rowsRejected: outcome.rowsRejected,
    errors: listedErrors(outcome.errors),
    durationMs: outcome.durationMs,
    ...(outcome.mappingFallbacks ? { mappingFallbacks: outcome.mappingFallbacks } : {}),
    ...(outcome.warnings ? { warnings: outcome.warnings } : {}),
    configHash,
  };
}

export async function sendEvent(deps: ProcessorDeps, config: FeedConfig, object: ObjectCreated, record: FileRecord): Promise<void> {
  if (record.status === 'DUPLICATE') {
    await deps.ledger.markEventSent(object); // nothing new for downstream
    return;
  }
  const failed = record.status === 'FAILED';
  await deps.events.publish(failed ? EVENTS.failed : EVENTS.processed, {
    eventId: eventIdOf(object, record.attempts),
    partner: config.partner,
    feed: config.id,
    bucket: object.bucket,
    key: object.key,
    versionId: object.versionId ?? null,
    etag: object.etag,
    status: record.status,
    rowsIn: record.rowsIn ?? 0,
    rowsOut: record.rowsOut ?? 0,
    rowsRejected: record.rowsRejected ?? 0,
    output: record.outputKey ? { bucket: deps.outputBucket, key: record.outputKey, manifest: record.manifestKey ?? null } : null,
    rejects: record.rejectsKey ? { bucket: deps.rejectsBucket, key: record.rejectsKey } : null,
    summary: record.summaryKey ? { bucket: deps.rejectsBucket, key: record.summaryKey } : null,
    schema: `${config.partner}/${config.schemaFile}`,
    schemaVersion: config.schemaVersion ?? null,
    configHash: deps.configHash,
    errors: listedErrors(record.errors ?? []),
    ...(record.warnings ? { warnings: record.warnings } : {}),
  });
  await deps.ledger.markEventSent(object);
}

/**
 * The id consumers deduplicate on. Events are sent at least once (a crash between sending and
 * noting it sends it again, from the next delivery), always with the same content: the id is the
 * version and the attempt that recorded its final status, so a reprocess gets a new one.
 */
export function eventIdOf(object: Pick<ObjectCreated, 'bucket' | 'key' | 'versionId' | 'sequencer'>, attempt: number): string {
  return createHash('sha256')
    .update(JSON.stringify([object.bucket, object.key, versionRef(object), attempt]))
    .digest('hex')
    .slice(0, 32);
}

async function* emptyInput(): AsyncGenerator<Uint8Array> {}
