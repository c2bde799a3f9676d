import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { FeedConfig } from '../../../lambdas/transformer/model.js';
import { feedEventPattern, type EventPatternJson } from '../../config/feed-pattern.js';
import { MAX_RECEIVE_COUNT } from '../../config/queue-settings.js';

export interface FeedQueueProps {
  readonly feed: FeedConfig;
  readonly inboundBucket: s3.IBucket;
  readonly encryptionKey: kms.IKey;
  /** The transformer the queue feeds. */
  readonly handler: lambda.IFunction;
  /** The transformer's timeout: the queue's visibility timeout is six times it. */
  readonly functionTimeout: Duration;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * One feed's plumbing: an EventBridge rule for its bucket, prefix and suffix, the queue it targets
 * (with a dead-letter queue shared by the rule's failed deliveries and the queue's redrive) and the
 * event source mapping to the transformer, capped at the feed's concurrency.
 */
export class FeedQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: FeedQueueProps) {
    super(scope, id);
    const { feed } = props;
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This is the dead-letter queue of the feed queue and of its EventBridge rule.',
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      visibilityTimeout: Duration.seconds(props.functionTimeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
      removalPolicy: props.removalPolicy,
    });
    this.rule = new events.Rule(this, 'Rule', {
      description: `partner-etl ${feed.partner}/${feed.id}: ${feed.source.prefix}*${feed.source.suffix}`,
      eventPattern: toCdkPattern(feedEventPattern(feed, props.inboundBucket.bucketName)),
      targets: [
        new targets.SqsQueue(this.queue, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 10,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });
    new lambda.EventSourceMapping(this, 'EventSourceMapping', {
      target: props.handler,
      eventSourceArn: this.queue.queueArn,
      // A file can take minutes and a batch shares one timeout: one file per invocation, scaled by concurrency.
      batchSize: 1,
      reportBatchItemFailures: true,
      maxConcurrency: feed.concurrency,
    });
  }
}

/** The JSON pattern in the CDK's camel-cased form. */
function toCdkPattern(json: EventPatternJson): events.EventPattern {
  const { 'detail-type': detailType, ...rest } = json;
  return { ...rest, detailType: detailType as string[] };
}
