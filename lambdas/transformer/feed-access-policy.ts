import type { FeedConfig } from './model.js';
import { outputPrefix, rejectsPrefix } from './output-keys.js';

/*
 * What handling one feed's files may touch, as IAM policy statements: one source for both sides of
 * the tenant-isolation pattern. The stack attaches each feed's statements to the feed-access role
 * (so the role may do what some feed may do); the transformer assumes that role for a file with the
 * file's feed's statements as the session policy (so the session may do only what that feed may do).
 * Runs in the Lambda and in CDK (where the ARNs are tokens); nothing here imports AWS.
 */

/** Where a feed's files live: the three buckets' ARNs and the key they are encrypted with. */
export interface FeedLocations {
  readonly inboundBucketArn: string;
  readonly outputBucketArn: string;
  readonly rejectsBucketArn: string;
  /** The platform KMS key: every bucket is SSE-KMS with it. */
  readonly keyArn: string;
}

export interface PolicyStatementJson {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: string[];
  readonly Resource: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

/** The S3 statements of a feed: read its prefix, write and take back its outputs and rejects. */
export function feedS3Statements(feed: FeedConfig, at: FeedLocations): PolicyStatementJson[] {
  const inbound = `${at.inboundBucketArn}/${feed.source.prefix}*`;
  const outputs = `${at.outputBucketArn}/${outputPrefix(feed)}*`;
  const rejects = `${at.rejectsBucketArn}/${rejectsPrefix(feed)}*`;
  return [
    { Sid: 'ReadFeedPrefix', Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: inbound },
    // Write the feed's output and rejects; and delete there: a version that ends DUPLICATE or FAILED
    // after an attempt crashed past its uploads takes back that attempt's output, manifest, rejects
    // and summary (process-object's unpublish). One statement: the session policy must stay short.
    {
      Sid: 'WriteFeedOutputAndRejects',
      Effect: 'Allow',
      Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'],
      Resource: [outputs, rejects],
    },
    // A split file's output parts are found by listing (only a feed that splits has parts).
    ...(feed.split
      ? [
          {
            Sid: 'ListOutputParts',
            Effect: 'Allow' as const,
            Action: ['s3:ListBucket'],
            Resource: at.outputBucketArn,
            Condition: { StringLike: { 's3:prefix': `${outputPrefix(feed)}*` } },
          },
        ]
      : []),
  ];
}

/** SSE-KMS on the platform key, only through S3: reading needs Decrypt, writing a data key. */
export function platformKeyThroughS3(keyArn: string): PolicyStatementJson {
  return {
    Sid: 'PlatformKeyThroughS3',
    Effect: 'Allow',
    Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
    Resource: keyArn,
    Condition: { StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } },
  };
}

/** The session policy a file of this feed is handled with (at most 2048 characters, STS's limit for an inline policy). */
export function feedSessionPolicy(feed: FeedConfig, at: FeedLocations): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: [...feedS3Statements(feed, at), platformKeyThroughS3(at.keyArn)] });
}

/** The limit STS puts on an inline session policy (plain text; the packed form is smaller). */
export const MAX_SESSION_POLICY_CHARS = 2048;

/** `arn:<partition>:s3:::<bucket>` */
export const bucketArn = (partition: string, bucket: string): string => `arn:${partition}:s3:::${bucket}`;
