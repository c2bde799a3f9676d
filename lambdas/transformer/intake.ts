/**
 * What arrives in an SQS message body: an EventBridge "Object Created" event (what the stack's rules
 * deliver) or a classic S3 notification (`Records[]`, whose keys are form-URL-encoded). Both become
 * one `ObjectCreated`. Anything else is a `PoisonMessageError`: the message goes back to the queue
 * and, after the redrive count, to the dead-letter queue.
 */

/** One created object version, as the platform processes it. */
export interface ObjectCreated {
  readonly bucket: string;
  readonly key: string;
  /** The S3 version id; absent when the bucket is not versioned. */
  readonly versionId?: string;
  /** The ETag without quotes. */
  readonly etag: string;
  readonly size: number;
  /** S3's per-key ordering token (hex); compared after left-padding. */
  readonly sequencer: string;
  /** When S3 created the object (ISO 8601). */
  readonly time: string;
}

export class PoisonMessageError extends Error {
  override readonly name: string = 'PoisonMessageError';
}

/** Parses one SQS body into the objects it announces (a classic notification may hold several). */
export function parseObjectEvents(body: string): ObjectCreated[] {
  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch (err) {
    throw new PoisonMessageError(`message body is not JSON: ${truncate(body)}`, { cause: err });
  }
  if (!event || typeof event !== 'object') throw new PoisonMessageError(`message body is not an event: ${truncate(body)}`);
  const e = event as Record<string, unknown>;
  if (e['detail-type'] === 'Object Created' && e.source === 'aws.s3') return [fromEventBridge(e)];
  if (Array.isArray(e.Records)) return e.Records.map(fromS3Record);
  if (e.Event === 's3:TestEvent') return []; // sent once when a notification is configured
  throw new PoisonMessageError(`not an S3 "Object Created" event: ${truncate(body)}`);
}

function fromEventBridge(e: Record<string, unknown>): ObjectCreated {
  const detail = e.detail as { bucket?: { name?: unknown }; object?: Record<string, unknown> } | undefined;
  const object = detail?.object ?? {};
  const bucket = detail?.bucket?.name;
  if (typeof bucket !== 'string' || typeof object.key !== 'string') {
    throw new PoisonMessageError('EventBridge event without detail.bucket.name or detail.object.key');
  }
  return created({
    bucket,
    key: object.key, // EventBridge keys are not URL-encoded
    versionId: object['version-id'],
    etag: object.etag,
    size: object.size,
    sequencer: object.sequencer,
    time: e.time,
  });
}

function fromS3Record(record: unknown): ObjectCreated {
  const r = record as { eventName?: string; eventTime?: string; s3?: { bucket?: { name?: string }; object?: Record<string, unknown> } };
  if (typeof r?.eventName !== 'string' || !r.eventName.startsWith('ObjectCreated:')) {
    throw new PoisonMessageError(`not an ObjectCreated record: ${String(r?.eventName)}`);
  }
  const object = r.s3?.object ?? {};
  if (typeof r.s3?.bucket?.name !== 'string' || typeof object.key !== 'string') {
    throw new PoisonMessageError('S3 record without s3.bucket.name or s3.object.key');
  }
  return created({
    bucket: r.s3.bucket.name,
    key: decodeS3Key(object.key),
    versionId: object.versionId,
    etag: object.eTag,
    size: object.size,
    sequencer: object.sequencer,
    time: r.eventTime,
  });
}

/** S3 notification keys are form-URL-encoded: `+` is a space, `%2B` a plus. Decoded exactly once. */
export function decodeS3Key(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch (err) {
    throw new PoisonMessageError(`S3 key is not valid URL encoding: ${truncate(key)}`, { cause: err });
  }
}

function created(fields: Record<string, unknown>): ObjectCreated {
  const { bucket, key, versionId, etag, size, sequencer, time } = fields;
  if (typeof etag !== 'string' || typeof size !== 'number' || typeof sequencer !== 'string') {
    throw new PoisonMessageError(`event for ${String(bucket)}/${String(key)} lacks etag, size or sequencer`);
  }
  const base = {
    bucket: bucket as string,
    key: key as string,
    etag: etag.replace(/"/g, ''),
    size,
    sequencer,
    time: typeof time === 'string' ? time : new Date(0).toISOString(),
  };
  return typeof versionId === 'string' && versionId !== '' && versionId !== 'null' ? { ...base, versionId } : base;
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
