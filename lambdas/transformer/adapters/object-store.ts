import type { Readable, Writable } from 'node:stream';

/** A source object opened for streaming. `body` must be destroyed on every early exit. */
export interface SourceObject {
  readonly body: Readable;
  readonly size: number;
}

/** Bytes `start` (inclusive) to `end` (exclusive) of an object. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** An upload in progress: write to `stream`, then `commit()` to publish or `abort()` to leave nothing. */
export interface PendingUpload {
  readonly stream: Writable;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** The object store as the transformer needs it (S3, or the local emulator through the same SDK). */
export interface ObjectStore {
  /**
   * Opens a version for reading, or the bytes `[range.start, range.end)` of it; resolves `undefined`
   * when the object or version is gone.
   */
  open(bucket: string, key: string, versionId?: string, range?: ByteRange): Promise<SourceObject | undefined>;
  /** Starts a streamed upload; nothing is visible until `commit()`. */
  upload(bucket: string, key: string, contentType: string): PendingUpload;
  put(bucket: string, key: string, body: string, contentType: string): Promise<void>;
  /** Removes an object if it exists (nothing happens when it does not). */
  delete(bucket: string, key: string): Promise<void>;
  /** The keys under a prefix, in key order. */
  list(bucket: string, prefix: string): Promise<string[]>;
}

/** Where downstream events go (EventBridge in AWS, a log file locally). */
export interface EventPublisher {
  publish(detailType: string, detail: Record<string, unknown>): Promise<void>;
}
