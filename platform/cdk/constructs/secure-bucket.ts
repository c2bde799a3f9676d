import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface SecureBucketProps {
  /** Encrypts with SSE-KMS under this key (bucket keys on). */
  readonly encryptionKey: kms.IKey;
  /** Where server access logs go; the log prefix is the construct id. */
  readonly accessLogs: s3.IBucket;
  /** Send every object event to EventBridge (the inbound bucket). */
  readonly eventBridgeEnabled?: boolean;
  /** Days after which noncurrent object versions expire. */
  readonly noncurrentVersionDays: number;
  readonly removalPolicy: RemovalPolicy;
}

/** A bucket with the platform's defaults: versioned, SSL only, no public access, SSE-KMS, access logs, lifecycle. */
export class SecureBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      versioned: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: `${id}/`,
      lifecycleRules: [
        { id: 'expire-noncurrent-versions', noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
      removalPolicy: props.removalPolicy,
    });
    if (props.eventBridgeEnabled) {
      // Set on the resource itself: the L2 flag would add a custom-resource Lambda to do the same.
      (this.bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
        eventBridgeConfiguration: { eventBridgeEnabled: true },
      };
    }
  }
}
