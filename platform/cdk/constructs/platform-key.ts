import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface PlatformKeyProps {
  /** `partner-etl-<stage>`: the alias is `alias/<prefix>`. */
  readonly namePrefix: string;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The customer-managed key everything is encrypted with. Its policy lets EventBridge deliver to the
 * encrypted feed queues (an AWS-managed SQS key would refuse it) and CloudWatch publish alarms to the
 * encrypted topic; S3, SQS, DynamoDB and the function use it through their IAM grants.
 */
export class PlatformKey extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: PlatformKeyProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      alias: `alias/${props.namePrefix}`,
      description: 'partner-etl: buckets, queues, ledger table, event bus and alarm topic',
      enableKeyRotation: true,
      pendingWindow: Duration.days(props.removalPolicy === RemovalPolicy.DESTROY ? 7 : 30),
      removalPolicy: props.removalPolicy,
    });
    for (const service of ['events.amazonaws.com', 'cloudwatch.amazonaws.com']) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `Allow${service.split('.')[0]}ToUseKey`,
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: ['*'], // in a key policy, '*' means this key
          // only on behalf of this account's rules and alarms (no confused deputy)
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
        }),
      );
    }
  }
}
