import type { Readable, Writable } from 'node:stream';

/** A source object opened for streaming. `body` must be destroyed on every early exit. */
export interface SourceObject {
  readonly body: Readable;
  readonly size: number;
}

/** An upload in progress: write to `stream`, then `commit()` to publish or `abort()` to leave nothing. */
export interface PendingUpload {
  readonly stream: Writable;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** The object store as the transformer needs it (S3, or the local emulator through the same SDK). */
export interface ObjectStore {
  /** Opens a version for reading; resolves `undefined` when the object or version is gone. */
  open(bucket: string, key: string, versionId?: string): Promise<SourceObject | undefined>;
  /** Starts a streamed upload; nothing is visible until `commit()`. */
  upload(bucket: string, key: string, contentType: string): PendingUpload;
  put(bucket: string, key: string, body: string, contentType: string): Promise<void>;
  /** Removes an object if it exists (nothing happens when it does not). */
  delete(bucket: string, key: string): Promise<void>;
}

/** Where downstream events go (EventBridge in AWS, a log file locally). */
export interface EventPublisher {
  publish(detailType: string, detail: Record<string, unknown>): Promise<void>;
}
