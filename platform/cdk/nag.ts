import { CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag 3 acknowledges each IAM5 finding by its exact id, which names the referenced resource by
 * logical id: `AwsSolutions-IAM5[Resource::<InboundBucketCA1AA1F7.Arn>/acme/orders/*]`. This builds
 * that id for an ARN attribute of a construct plus a suffix, so acknowledgements stay exact (a new
 * wildcard elsewhere still fails the synth).
 */
export function wildcardResourceFinding(target: IConstruct, suffix: string, attribute = 'Arn'): string {
  const cfn = (target.node.defaultChild ?? target) as CfnElement;
  const stack = Stack.of(target);
  const logicalId = stack.resolve(stack.getLogicalId(cfn)) as string;
  return `AwsSolutions-IAM5[Resource::<${logicalId}.${attribute}>${suffix}]`;
}

/** Acknowledges cdk-nag findings on a construct, each with its reason. */
export function acknowledge(scope: IConstruct, findings: readonly { id: string; reason: string }[]): void {
  for (const finding of findings) Validations.of(scope).acknowledge(finding);
}
