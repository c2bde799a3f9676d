import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge, wildcardResourceFinding } from '../nag.js';
import { feedS3Statements, type FeedLocations } from '../../../lambdas/transformer/feed-access-policy.js';
import type { FeedConfig } from '../../../lambdas/transformer/model.js';
import { outputPrefix, rejectsPrefix } from '../../../lambdas/transformer/output-keys.js';

export interface FeedAccessProps {
  readonly feed: FeedConfig;
  /** The role files are handled with, assumed per file with the file's feed's session policy. */
  readonly feedAccessRole: iam.IRole;
  /** The function's own role: it consumes the feed's queue. */
  readonly transformerRole: iam.IRole;
  readonly queue: sqs.IQueue;
  readonly inboundBucket: s3.IBucket;
  readonly outputBucket: s3.IBucket;
  readonly rejectsBucket: s3.IBucket;
  readonly encryptionKey: kms.IKey;
}

/** The feed's S3 locations as the statements of `feed-access-policy.ts` name them. */
export function feedLocations(
  props: Pick<FeedAccessProps, 'inboundBucket' | 'outputBucket' | 'rejectsBucket' | 'encryptionKey'>,
): FeedLocations {
  return {
    inboundBucketArn: props.inboundBucket.bucketArn,
    outputBucketArn: props.outputBucket.bucketArn,
    rejectsBucketArn: props.rejectsBucket.bucketArn,
    keyArn: props.encryptionKey.keyArn,
  };
}

/**
 * What handling one feed's files may do, as policies of its own: the feed's S3 statements (read its
 * prefix, write and take back its output and rejects) on the feed-access role, exactly the session
 * policy the transformer assumes that role with for the feed's files; consuming the feed's queue on
 * the function's role. A new feed adds policies and changes no existing one.
 */
export class FeedAccess extends Construct {
  readonly policy: iam.Policy;

  constructor(scope: Construct, id: string, props: FeedAccessProps) {
    super(scope, id);
    const { feed } = props;
    this.policy = new iam.Policy(this, 'Policy', {
      roles: [props.feedAccessRole],
      statements: feedS3Statements(feed, feedLocations(props)).map((s) => iam.PolicyStatement.fromJson(s)),
    });
    new iam.Policy(this, 'QueuePolicy', {
      roles: [props.transformerRole],
      statements: [
        new iam.PolicyStatement({
          sid: 'ConsumeFeedQueue',
          actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
          resources: [props.queue.queueArn],
        }),
      ],
    });
    const reason = `Object keys under ${feed.partner}/${feed.id}'s own locations are not known in advance; the wildcard covers only that prefix.`;
    acknowledge(this.policy, [
      { id: wildcardResourceFinding(props.inboundBucket, `/${feed.source.prefix}*`), reason },
      { id: wildcardResourceFinding(props.outputBucket, `/${outputPrefix(feed)}*`), reason },
      { id: wildcardResourceFinding(props.rejectsBucket, `/${rejectsPrefix(feed)}*`), reason },
    ]);
  }
}
