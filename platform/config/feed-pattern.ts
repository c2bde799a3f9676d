import type { FeedConfig } from '../../lambdas/transformer/model.js';

/** An EventBridge event pattern in its JSON form (as in a CloudFormation template). */
export type EventPatternJson = Record<string, unknown>;

/**
 * The EventBridge pattern of a feed: S3 "Object Created" in the inbound bucket, key under the prefix
 * and ending with the suffix. The CDK rule and the local platform's router both use this one function.
 */
export function feedEventPattern(feed: FeedConfig, bucketName: string): EventPatternJson {
  const key = feed.source.suffix ? [{ wildcard: `${feed.source.prefix}*${feed.source.suffix}` }] : [{ prefix: feed.source.prefix }];
  return {
    source: ['aws.s3'],
    'detail-type': ['Object Created'],
    detail: { bucket: { name: [bucketName] }, object: { key } },
  };
}
