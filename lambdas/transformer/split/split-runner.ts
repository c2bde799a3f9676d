import { createHash } from 'node:crypto';
import type { ObjectCreated } from '../intake.js';
import { versionRef } from '../ledger/file-ledger.js';

/** What a split run is started with: the version, the attempt that handed it over, the config it was planned under. */
export interface SplitRunInput {
  readonly object: ObjectCreated;
  readonly attempt: number;
  readonly configHash: string;
}

/** Where the transformer hands split files over: Step Functions in AWS, the local worker pool on a laptop. */
export interface SplitRunner {
  /** Starts a run; starting a name that was started before does nothing (a redelivery makes sure, never doubles). */
  start(name: string, input: SplitRunInput): Promise<void>;
}

/**
 * How long a handed-over attempt holds its file: longer than a run can last (the state machine's
 * own timeout), so no redelivery takes the file from a live run; a run that dies is recorded FAILED
 * by its failure path, and past the lease a redelivery may claim the file again.
 */
export const SPLIT_RUN_TIMEOUT_SECONDS = 12 * 3600;
export const SPLIT_LEASE_MS = (SPLIT_RUN_TIMEOUT_SECONDS + 900) * 1000;

/** The run's name, fixed by version and attempt: Step Functions refuses a second execution of it. */
export function splitRunName(object: ObjectCreated, attempt: number): string {
  const id = createHash('sha256')
    .update(`${object.bucket}/${object.key}#${versionRef(object)}`)
    .digest('hex')
    .slice(0, 40);
  return `split-${id}-a${attempt}`;
}
