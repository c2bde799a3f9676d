import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge, wildcardResourceFinding } from '../nag.js';
import type { FeedConfig } from '../../../lambdas/transformer/model.js';
import { outputPrefix, rejectsPrefix } from '../../../lambdas/transformer/output-keys.js';

export interface FeedAccessProps {
  readonly feed: FeedConfig;
  readonly role: iam.IRole;
  readonly queue: sqs.IQueue;
  readonly inboundBucket: s3.IBucket;
  readonly outputBucket: s3.IBucket;
  readonly rejectsBucket: s3.IBucket;
}

/**
 * What the transformer may do for one feed, as a policy of its own: read the feed's prefix, consume
 * the feed's queue, write the feed's output and rejects locations. A new feed adds a policy and
 * changes no existing one.
 */
export class FeedAccess extends Construct {
  readonly policy: iam.Policy;

  constructor(scope: Construct, id: string, props: FeedAccessProps) {
    super(scope, id);
    const { feed } = props;
    const outputObjects = props.outputBucket.arnForObjects(`${outputPrefix(feed)}*`);
    const rejectObjects = props.rejectsBucket.arnForObjects(`${rejectsPrefix(feed)}*`);
    const inboundObjects = props.inboundBucket.arnForObjects(`${feed.source.prefix}*`);
    this.policy = new iam.Policy(this, 'Policy', {
      roles: [props.role],
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadFeedPrefix',
          actions: ['s3:GetObject', 's3:GetObjectVersion'],
          resources: [inboundObjects],
        }),
        new iam.PolicyStatement({
          sid: 'ConsumeFeedQueue',
          actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
          resources: [props.queue.queueArn],
        }),
        new iam.PolicyStatement({
          sid: 'WriteFeedOutputAndRejects',
          actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
          resources: [outputObjects, rejectObjects],
        }),
        new iam.PolicyStatement({
          // A version that ends DUPLICATE or FAILED after an attempt crashed past its upload takes
          // that output back; only outputs, never rejects or the inbound bucket.
          sid: 'UnpublishFeedOutput',
          actions: ['s3:DeleteObject'],
          resources: [outputObjects],
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
