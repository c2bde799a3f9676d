import { randomUUID } from 'node:crypto';
import type { ObjectCreated } from '../../lambdas/transformer/intake.js';

let last = 0n;

/**
 * A sequencer for a new object, as S3 gives one: hex, increasing for writes to the same key (here:
 * microseconds since the epoch, strictly increasing within the process and across restarts).
 */
export function nextSequencer(now = Date.now()): string {
  let value = BigInt(now) * 1000n;
  if (value <= last) value = last + 1n;
  last = value;
  return value.toString(16).toUpperCase().padStart(18, '0');
}

/**
 * The EventBridge "Object Created" event S3 sends for a new object, field for field as AWS documents
 * it (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html).
 */
export function objectCreatedEvent(object: ObjectCreated, options: { account?: string; region?: string } = {}): Record<string, unknown> {
  const account = options.account ?? '000000000000';
  const region = options.region ?? 'us-east-1';
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account,
    time: object.time,
    region,
    resources: [`arn:aws:s3:::${object.bucket}`],
    detail: {
      version: '0',
      bucket: { name: object.bucket },
      object: {
        key: object.key,
        size: object.size,
        etag: object.etag,
        ...(object.versionId ? { 'version-id': object.versionId } : {}),
        sequencer: object.sequencer,
      },
      'request-id': randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase(),
      requester: account,
      'source-ip-address': '127.0.0.1',
      reason: 'PutObject',
    },
  };
}
