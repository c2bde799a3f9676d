/** File statuses, error codes and the outcome of one file, as PRODUCT.md defines them. */
import type { FileWarning } from './header-drift.js';

export type FileStatus = 'SUCCEEDED' | 'PARTIAL' | 'FAILED' | 'DUPLICATE';

export type FileErrorCode =
  | 'EMPTY_FILE'
  | 'ENCODING_ERROR'
  | 'MISSING_COLUMNS'
  | 'TOO_LARGE'
  | 'TOO_MANY_REJECTS'
  | 'UNKNOWN_FEED'
  /** The platform only: the object version was deleted before it could be read. */
  | 'OBJECT_NOT_FOUND'
  /** The platform only: every delivery failed; the message is in the feed's dead-letter queue. */
  | 'RETRIES_EXHAUSTED';

export type RowErrorCode = 'CSV_MALFORMED' | 'MAPPING_ERROR' | 'SCHEMA_VIOLATION';

export type ErrorCode = FileErrorCode | RowErrorCode;

/** One rejected row, written as one line of the rejects file. Key order is the contract's. */
export interface RowReject {
  /** 1-based physical line where the record starts. */
  readonly line: number;
  /** 1-based data record number (the header is not a data record). */
  readonly record: number;
  readonly code: RowErrorCode;
  readonly message: string;
  /** The output field (JSON pointer) or mapping field the error is about, when there is one. */
  readonly field?: string;
  /** The record as it stood in the file, without its line terminator. */
  readonly raw: string;
}

/**
 * A rejected row as everything but the rejects object sees it (ledger, manifest, events, logs,
 * summaries): where and why, never the row's values. Its message quotes no cell value; the
 * message of the row's `RowReject` may.
 */
export interface RowError {
  readonly line: number;
  readonly record: number;
  readonly code: RowErrorCode;
  readonly field?: string;
  readonly message: string;
}

/** How many errors the ledger, an event, a manifest or a log line lists: a file's outcome never depends on its rows' size. */
export const MAX_LISTED_ERRORS = 10;
/** Longest message listed there, in UTF-8 bytes. */
export const MAX_LISTED_MESSAGE_BYTES = 512;

/** The first `MAX_LISTED_ERRORS` errors, each message cut to `MAX_LISTED_MESSAGE_BYTES` (on a character boundary, marked with "..."). */
export function listedErrors(errors: readonly (FileError | RowError)[]): (FileError | RowError)[] {
  return errors.slice(0, MAX_LISTED_ERRORS).map((e) => {
    const message = cutToBytes(e.message, MAX_LISTED_MESSAGE_BYTES);
    return message === e.message ? e : { ...e, message };
  });
}

function cutToBytes(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let cut = text.slice(0, maxBytes - 3);
  while (Buffer.byteLength(cut) > maxBytes - 3) cut = cut.slice(0, -1);
  // never leave half of a surrogate pair
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}...`;
}

/** A problem with the whole file; `CSV_MALFORMED` here means the header record itself is unreadable. */
export interface FileError {
  readonly code: FileErrorCode | 'CSV_MALFORMED';
  readonly message: string;
  readonly line?: number;
}

/**
 * One mapping expression whose compiled closure handed rows over to the interpreter in a file.
 * `deferred` is by design (a value or construct outside the compiled subset); `errors` means the
 * closure threw something else, a compiler bug worth a report (the interpreter still decided the row).
 */
export interface MappingFallback {
  /** The output field (JSON pointer), or '' for a whole-object mapping. */
  readonly field: string;
  readonly deferred: number;
  readonly errors: number;
  /** The first deferral's reason and the first error, when there were any. */
  readonly reason?: string;
  readonly error?: string;
}

/** What became of one file. `rowsIn = rowsOut + rowsRejected` always holds. */
export interface FileOutcome {
  readonly status: Exclude<FileStatus, 'DUPLICATE'>;
  readonly partner: string;
  readonly feed: string;
  readonly key: string;
  readonly rowsIn: number;
  /** Rows that passed mapping and schema; for a FAILED file they were not published. */
  readonly rowsOut: number;
  readonly rowsRejected: number;
  /** File-level errors first, then the first row errors (at most `maxErrors`), without row values. */
  readonly errors: readonly (FileError | RowError)[];
  readonly bytesIn: number;
  readonly durationMs: number;
  /** Expressions that fell back to the interpreter, with counts; absent when none did. */
  readonly mappingFallbacks?: readonly MappingFallback[];
  /** Warnings that do not change the status (a drifted header); absent when there are none. */
  readonly warnings?: readonly FileWarning[];
}

/** A data error that ends the file, carried by exception out of the decode or parse stage. */
export class FileLevelError extends Error {
  override readonly name = 'FileLevelError';
  constructor(
    readonly code: FileErrorCode,
    message: string,
    readonly line?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  toFileError(): FileError {
    return this.line === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, line: this.line };
  }
}
