import type { ObjectStore, EventPublisher } from './adapters/object-store.js';
import type { FileError, FileOutcome } from './engine/outcome.js';
import { transformFile, type CompiledFeed } from './engine/transform.js';
import type { ObjectCreated } from './intake.js';
import { PoisonMessageError } from './intake.js';
import { versionRef, type FileLedger, type FileRecord, type FinalUpdate } from './ledger/file-ledger.js';
import { EVENTS } from './metrics-names.js';
import { resolveFeed, runsSplit, type FeedConfig, type PlatformConfig } from './model.js';
import { outputKeys, splitKeys, type OutputKeys } from './output-keys.js';
import { SPLIT_LEASE_MS, splitRunName, type SplitRunner } from './split/split-runner.js';

/** The steps where the chaos run and the crash tests inject faults; production passes nothing. */
export type Checkpoint = 'afterClaim' | 'afterOutputUpload' | 'afterLedgerUpdate' | 'beforeAck';

export interface FaultInjector {
  /** Called at each step; throws to simulate a crash there. */
  checkpoint(step: Checkpoint, object: ObjectCreated): void | Promise<void>;
}

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
  readonly faults?: FaultInjector;
  /** Where files of feeds with `split` go when they are above the threshold; without it every file runs whole. */
  readonly split?: SplitRunner;
}

export interface InvocationContext {
  readonly requestId: string;
  /** Time left in this invocation: the claim's lease. */
  readonly remainingMs: () => number;
  /** This delivery is the queue's last before the dead-letter queue: a failure now is final. */
  readonly lastDelivery?: boolean;
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

/** Removes a version's output (or a split run's parts) and manifest, if an attempt left them (keys are deterministic per version). */
export async function unpublish(deps: Pick<ProcessorDeps, 'store' | 'outputBucket'>, keys: OutputKeys): Promise<void> {
  const parts = await deps.store.list(deps.outputBucket, splitKeys(keys).partsPrefix);
  await Promise.all([keys.output, keys.manifest, ...parts].map((key) => deps.store.delete(deps.outputBucket, key)));
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
      await publishIfPublished(deps, object, claim.record);
      await sendEvent(deps, config, object, claim.record);
    }
    return { kind: 'already-finished', feed: config, record: claim.record };
  }
  const attempt = claim.attempt;
  try {
    if (ctx.lastDelivery) {
      await deps.ledger.failAhead(
        object,
        attempt,
        `attempt ${attempt}, the queue's last delivery, did not finish; the message is in the dead-letter queue`,
      );
    }
    await deps.faults?.checkpoint('afterClaim', object);
    const ran = await runAttempt(deps, feed, object);
    if (ran === 'split') {
      const run = splitRunName(object, attempt);
      if (!(await deps.ledger.handOver(object, attempt, run, SPLIT_LEASE_MS))) {
        throw new RetryLaterError(`attempt ${attempt} of ${object.key} lost its claim to a newer attempt`);
      }
      await deps.split!.start(run, { object, attempt, configHash: deps.configHash });
      return { kind: 'handed-over', feed: config, run, attempt };
    }
    const { update, outcome } = ran;
    await deps.faults?.checkpoint('afterOutputUpload', object);
    if (!(await deps.ledger.complete(object, attempt, update))) {
      throw new RetryLaterError(`attempt ${attempt} of ${object.key} lost its claim to a newer attempt`);
    }
    await deps.faults?.checkpoint('afterLedgerUpdate', object);
    const record = { ...claim.record, ...update, status: update.status } as FileRecord;
    await publishIfPublished(deps, object, record);
    await sendEvent(deps, config, object, record);
    return { kind: 'processed', feed: config, status: update.status, outcome, attempt };
  } catch (err) {
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    if (ctx.lastDelivery) {
      // The message goes to the dead-letter queue after this: the ledger says so instead of waiting forever.
      const error: FileError = {
        code: 'RETRIES_EXHAUSTED',
        message: `attempt ${attempt} failed on the last delivery (${reason}); the message is in the dead-letter queue`,
      };
      const update: FinalUpdate = {
        configHash: deps.configHash,
        status: 'FAILED',
        rowsIn: 0,
        rowsOut: 0,
        rowsRejected: 0,
        errors: [error],
        durationMs: 0,
      };
      // Best effort: the original error is what the caller must see. A FAILED file publishes nothing,
      // even what an earlier attempt uploaded before it crashed.
      await unpublish(deps, outputKeys(config, object.key, versionRef(object), new Date(object.time)))
        .then(() => deps.ledger.complete(object, attempt, update))
        .then((recorded) => (recorded ? sendEvent(deps, config, object, { ...claim.record, ...update } as FileRecord) : undefined))
        .catch(() => undefined);
    } else {
      await deps.ledger.release(object, attempt, reason).catch(() => undefined);
    }
    throw err;
  }
}

async function runAttempt(
  deps: ProcessorDeps,
  feed: CompiledFeed,
  object: ObjectCreated,
): Promise<{ update: FinalUpdate; outcome: FileOutcome } | 'split'> {
  const config = feed.config;
  const ref = versionRef(object);
  const keys = outputKeys(config, object.key, ref, new Date(object.time));
  const base = { configHash: deps.configHash };

  const latest = await deps.ledger.latestPublished(object.bucket, object.key);
  if (latest && latest.versionRef !== ref && latest.etag === object.etag && latest.configHash === deps.configHash) {
    // An earlier attempt at this version may have uploaded its output before crashing: a DUPLICATE publishes nothing.
    await unpublish(deps, keys);
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
  let outcome: FileOutcome;
  try {
    outcome = await transformFile(feed, {
      key: object.key,
      input: source?.body ?? emptyInput(),
      output: output.stream,
      rejects: rejects.stream,
      sizeBytes: object.size,
    });
  } catch (err) {
    await Promise.allSettled([output.abort(), rejects.abort()]);
    throw err;
  } finally {
    source?.body.destroy(); // always: an unread body holds its socket
  }

  const published = outcome.status !== 'FAILED';
  await (published ? output.commit() : output.abort());
  await (outcome.rowsRejected > 0 ? rejects.commit() : rejects.abort());
  const summary = summaryOf(outcome, object, deps.configHash);
  if (published) {
    await deps.store.put(
      deps.outputBucket,
      keys.manifest,
      JSON.stringify({ ...summary, output: { bucket: deps.outputBucket, key: keys.output }, schema: config.schemaFile }, null, 2),
      'application/json',
    );
  }
  await deps.store.put(deps.rejectsBucket, keys.summary, JSON.stringify(summary, null, 2), 'application/json');
  return {
    outcome,
    update: {
      ...base,
      status: outcome.status,
      rowsIn: outcome.rowsIn,
      rowsOut: outcome.rowsOut,
      rowsRejected: outcome.rowsRejected,
      errors: outcome.errors,
      durationMs: outcome.durationMs,
      summaryKey: keys.summary,
      ...(published ? { outputKey: keys.output, manifestKey: keys.manifest } : {}),
      ...(outcome.rowsRejected > 0 ? { rejectsKey: keys.rejects } : {}),
    },
  };
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
    errors: outcome.errors,
    durationMs: outcome.durationMs,
    ...(outcome.mappingFallbacks ? { mappingFallbacks: outcome.mappingFallbacks } : {}),
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
    configHash: deps.configHash,
    errors: (record.errors ?? []).slice(0, 5),
  });
  await deps.ledger.markEventSent(object);
}

async function* emptyInput(): AsyncGenerator<Uint8Array> {}
