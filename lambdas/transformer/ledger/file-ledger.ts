import type { FileWarning } from '../engine/header-drift.js';
import type { FileError, FileStatus, RowError } from '../engine/outcome.js';
import type { ObjectCreated } from '../intake.js';

/** A file's place in its lifecycle. RECEIVED -> PROCESSING -> one final status. */
export type LedgerStatus = 'RECEIVED' | 'PROCESSING' | FileStatus;

export const FINAL_STATUSES: readonly LedgerStatus[] = ['SUCCEEDED', 'PARTIAL', 'FAILED', 'DUPLICATE'];

/** One attempt at a file, kept in its history. */
export interface AttemptRecord {
  readonly attempt: number;
  readonly requestId: string;
  readonly startedAt: string;
  readonly finishedAt?: string;
  /** The final status, or the error that ended the attempt early. */
  readonly outcome: string;
}

/** Everything the ledger knows of one object version (its identity as the event announced it, then its fate). */
export interface FileRecord extends Omit<ObjectCreated, 'time'> {
  readonly partner: string;
  readonly feed: string;
  readonly status: LedgerStatus;
  readonly receivedAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly attempts: number;
  readonly configHash?: string;
  readonly rowsIn?: number;
  readonly rowsOut?: number;
  readonly rowsRejected?: number;
  readonly errors?: readonly (FileError | RowError)[];
  /** Warnings that did not change the status (HEADER_DRIFT); absent when there were none. */
  readonly warnings?: readonly FileWarning[];
  readonly outputKey?: string;
  readonly manifestKey?: string;
  readonly rejectsKey?: string;
  readonly summaryKey?: string;
  /** For a DUPLICATE: the version whose output it duplicates. */
  readonly duplicateOf?: string;
  readonly durationMs?: number;
  /** The downstream event for the final status has been sent. */
  readonly eventSent?: boolean;
  /** Epoch ms until which an attempt holds the version: while it runs, then while it sends the event. */
  readonly leaseUntil?: number;
  /** FAILED set ahead by a last delivery still running: it becomes the real outcome if that attempt finishes. */
  readonly provisional?: boolean;
  /** The split run (Step Functions execution name) the attempt was handed over to. */
  readonly splitRun?: string;
  readonly history: readonly AttemptRecord[];
}

/** The result of trying to claim a version for processing. */
export type ClaimResult =
  | { readonly kind: 'claimed'; readonly attempt: number; readonly record: FileRecord }
  | { readonly kind: 'finished'; readonly record: FileRecord }
  /** `splitRun`: the holding attempt was handed over to this split run, which owns the file until it records the final status. */
  | { readonly kind: 'busy'; readonly leaseUntil: number; readonly splitRun?: { readonly name: string; readonly attempt: number } };

/** The latest published (SUCCEEDED or PARTIAL) version of a key. */
export interface PublishedVersion {
  readonly versionRef: string;
  readonly sequencer: string;
  readonly etag: string;
  readonly configHash: string;
  readonly outputKey: string;
}

export interface FinalUpdate {
  readonly status: FileStatus;
  readonly configHash: string;
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly rowsRejected: number;
  readonly errors: readonly (FileError | RowError)[];
  readonly warnings?: readonly FileWarning[];
  readonly durationMs: number;
  readonly outputKey?: string;
  readonly manifestKey?: string;
  readonly rejectsKey?: string;
  readonly summaryKey?: string;
  readonly duplicateOf?: string;
}

export interface ListFilter {
  readonly partner?: string;
  readonly feed?: string;
  readonly status?: LedgerStatus;
  /** Only files received at or after this time. */
  readonly since?: Date;
  readonly limit?: number;
}

/**
 * The file ledger, as the transformer and the CLI need it. Single-item conditional writes only, so
 * one implementation runs on DynamoDB and on the local emulator alike.
 */
export interface FileLedger {
  /**
   * Claims a version for one attempt: succeeds for a new version, for one left RECEIVED, for one
   * whose lease has expired, or for one marked for reprocessing. `leaseMs` should be the
   * invocation's remaining time, so a timed-out attempt never locks the file for long.
   */
  claim(object: ObjectCreated, owner: { partner: string; feed: string; requestId: string; leaseMs: number }): Promise<ClaimResult>;
  /**
   * On the queue's last delivery, records FAILED (RETRIES_EXHAUSTED) before the work starts, so an
   * attempt killed outright (a timeout, a lost instance) still leaves a final status while its
   * message moves to the dead-letter queue. `complete` replaces it when the attempt finishes.
   */
  failAhead(object: ObjectCreated, attempt: number, message: string): Promise<void>;
  /**
   * Hands a claimed attempt over to a split run: the lease becomes the run's (hours) and the run's
   * name is kept, so a redelivery can make sure the run was started. False when the claim was lost.
   */
  handOver(object: ObjectCreated, attempt: number, run: string, leaseMs: number): Promise<boolean>;
  /**
   * Gives a claim back after a failed attempt, so the redelivery can claim at once; after the
   * attempt recorded its final status, gives back the right to publish it (the lease `complete`
   * keeps until `markEventSent`), so the redelivery sends the event at once.
   */
  release(object: ObjectCreated, attempt: number, reason: string): Promise<void>;
  /**
   * Records the final status; false when the claim was lost to a newer attempt. The lease stays
   * until `markEventSent`: a duplicate delivery meanwhile finds the version busy, not finished,
   * and so does not send the event a second time while this attempt is sending it.
   */
  complete(object: ObjectCreated, attempt: number, update: FinalUpdate): Promise<boolean>;
  /** Notes that the downstream event for the final status was sent, and ends the attempt's lease. */
  markEventSent(object: ObjectCreated): Promise<void>;
  latestPublished(bucket: string, key: string): Promise<PublishedVersion | undefined>;
  /** Moves the key's latest-published pointer to this version unless a newer version holds it. */
  publishLatest(object: ObjectCreated, version: PublishedVersion): Promise<boolean>;
  /** Every version of a key, oldest first. */
  history(bucket: string, key: string): Promise<FileRecord[]>;
  /** Files newest first, by partner, by status, or of every partner by day (Queries, never a Scan). */
  list(filter: ListFilter): Promise<FileRecord[]>;
  /** Marks the latest version of a key for a new attempt, keeping its history. */
  requestReprocess(bucket: string, key: string): Promise<FileRecord | undefined>;
}

/**
 * The identity of a version within its key: the S3 version id, or, in a bucket without versioning,
 * the write's sequencer (each write of the key has its own).
 */
export function versionRef(object: Pick<ObjectCreated, 'versionId' | 'sequencer'>): string {
  return object.versionId ?? `s${object.sequencer}`;
}
