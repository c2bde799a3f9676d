/**
 * Where moto (5.2) does not do what AWS does with this template, and what the rehearsal does about
 * it. Each gap is in docs/rehearsal.md with its simplest reproduction. Nothing here weakens the
 * template: a rewrite is equivalent in CloudFormation, a compensation applies the template's own
 * settings through the API after moto's CloudFormation skipped them, and the IAM widening keeps every
 * action of the template's own statements. The report lists each one applied.
 */
import { GetRoleCommand, PutRolePolicyCommand, UpdateAssumeRolePolicyCommand, type IAMClient } from '@aws-sdk/client-iam';
import { PutBucketNotificationConfigurationCommand, PutBucketVersioningCommand, type S3Client } from '@aws-sdk/client-s3';

/** A CloudFormation template as JSON. */
export interface Template {
  Resources: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown>; DependsOn?: unknown }
  >;
  Outputs?: Record<string, { Value: unknown }>;
  [section: string]: unknown;
}

/**
 * Gap "EventBus Ref": moto's `Ref` of an `AWS::Events::EventBus` is the Python object's repr
 * (`<moto.events.models.EventBus object at 0x...>`), which then breaks GetFunctionConfiguration
 * (HTTP 500) because the function's environment holds it. In CloudFormation `Ref` of an event bus is
 * its name, exactly what `Fn::GetAtt [bus, Name]` returns, so the rewrite is equivalent.
 * Returns the number of references rewritten.
 */
export function rewriteEventBusRefs(template: Template): number {
  const buses = new Set(
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::Events::EventBus')
      .map(([id]) => id),
  );
  let rewritten = 0;
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (!value || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1 && entries[0]![0] === 'Ref' && typeof entries[0]![1] === 'string' && buses.has(entries[0]![1])) {
      rewritten++;
      return { 'Fn::GetAtt': [entries[0]![1], 'Name'] };
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, walk(v)]));
  };
  for (const section of ['Resources', 'Outputs'] as const) {
    if (template[section]) template[section] = walk(template[section]) as never;
  }
  return rewritten;
}

/** The resource types moto's CloudFormation skipped (it still reports CREATE_COMPLETE), from moto's own warnings. */
export function skippedResourceTypes(motoLog: string): string[] {
  const types = new Set<string>();
  for (const match of motoLog.matchAll(/Tried to parse (AWS::[A-Za-z0-9:]+) but it's not supported/g)) types.add(match[1]!);
  return [...types].sort();
}

/**
 * Gap "bucket properties": moto's CloudFormation applies only `BucketEncryption` and `Tags` of an
 * `AWS::S3::Bucket`. The two the rehearsal's behaviour depends on are applied from the template:
 * versioning (object versions, the platform's version ids) and the EventBridge notification (without
 * it no "Object Created" event reaches any rule). Returns a line per bucket compensated.
 */
export async function applySkippedBucketSettings(
  s3: S3Client,
  template: Template,
  physicalIds: ReadonlyMap<string, string>,
): Promise<string[]> {
  const applied: string[] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::S3::Bucket') continue;
    const bucket = physicalIds.get(id);
    if (!bucket) continue;
    const props = resource.Properties ?? {};
    const versioning = (props.VersioningConfiguration as { Status?: string } | undefined)?.Status;
    if (versioning === 'Enabled') {
      await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
      applied.push(`${id}: VersioningConfiguration`);
    }
    const notification = props.NotificationConfiguration as { EventBridgeConfiguration?: unknown } | undefined;
    if (notification?.EventBridgeConfiguration) {
      await s3.send(
        new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: { EventBridgeConfiguration: {} } }),
      );
      applied.push(`${id}: NotificationConfiguration.EventBridgeConfiguration`);
    }
  }
  return applied;
}

/**
 * Services whose requests moto evaluates against the resource they name. For every other service
 * (DynamoDB, EventBridge, KMS, CloudWatch Logs...) moto evaluates against the resource `*`, so an
 * Allow scoped to a table or bus ARN never matches and the call is denied (gap "IAM resources").
 */
const RESOURCE_AWARE_SERVICES = new Set(['s3', 'sqs', 'sts', 'iam']);

export interface Statement {
  Effect?: string;
  Action?: string | string[];
  Resource?: unknown;
  Condition?: unknown;
  Sid?: string;
}

export interface PolicyDocument {
  Statement: Statement[];
}

/**
 * For the role's Allow statements on services moto cannot scope by resource, a copy with the same
 * actions on `*`, put as one extra inline policy of the role. Each action is still evaluated: an
 * action the template does not grant stays denied. What moto cannot show, a resource scoped too
 * widely on those services, is checked by the CDK tests on the template instead. Returns the actions.
 */
export async function widenUnscopableStatements(iam: IAMClient, roleName: string, policies: readonly PolicyDocument[]): Promise<string[]> {
  const actions = new Set<string>();
  for (const policy of policies) {
    for (const statement of policy.Statement) {
      if (statement.Effect !== 'Allow') continue;
      for (const action of ([] as string[]).concat(statement.Action ?? [])) {
        if (!RESOURCE_AWARE_SERVICES.has(action.split(':')[0]!.toLowerCase())) actions.add(action);
      }
    }
  }
  if (actions.size === 0) return [];
  const sorted = [...actions].sort();
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: roleName,
      PolicyName: 'rehearsal-moto-resource-gap',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: sorted, Resource: '*' }] }),
    }),
  );
  return sorted;
}

/**
 * Gap "role sessions in trust policies": moto compares the caller's ARN with a trust policy's
 * `Principal.AWS` as strings, so a trust policy naming a role (`arn:aws:iam::A:role/R`) refuses that
 * role's own sessions (`arn:aws:sts::A:assumed-role/R/session`), which AWS admits; and a statement
 * naming another principal counts as a Deny, so an added statement would not help. When, and only
 * when, a statement of the deployed trust policy admits the role `sessionRoleArn`, the session
 * `sessionArn` is added to that statement's principals; a trust policy that does not name the role is
 * left as it is (and the function is refused, as in AWS). Returns whether it was added.
 */
export async function admitRoleSessionInTrust(
  iam: IAMClient,
  roleName: string,
  sessionRoleArn: string,
  sessionArn: string,
): Promise<boolean> {
  const role = (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role!;
  const raw = role.AssumeRolePolicyDocument ?? '{}';
  const trust = JSON.parse(raw.trimStart().startsWith('{') ? raw : decodeURIComponent(raw)) as { Statement: Statement | Statement[] };
  const statements = ([] as (Statement & { Principal?: { AWS?: string | string[] } })[]).concat(trust.Statement);
  const admitting = statements.find(
    (s) => s.Effect === 'Allow' && !s.Condition && ([] as string[]).concat(s.Principal?.AWS ?? []).includes(sessionRoleArn),
  );
  if (!admitting) return false;
  admitting.Principal = { ...admitting.Principal, AWS: [...([] as string[]).concat(admitting.Principal!.AWS!), sessionArn] };
  await iam.send(
    new UpdateAssumeRolePolicyCommand({
      RoleName: roleName,
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
    }),
  );
  return true;
}

/**
 * Gap "S3 event": moto's EventBridge "Object Created" event differs from the one AWS documents
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html) in three fields the function
 * reads: `detail.object.eTag` for AWS's `etag`; `time` as epoch seconds (a number) for an ISO 8601
 * string; and `sequencer`, one constant for every object, where AWS's orders the writes to a key (the
 * ledger orders a key's versions by it). The event source corrects exactly these in the record it
 * hands to the function; `sequencerOf` gives the sequencer of a version in the order the rehearsal
 * wrote them.
 */
export function correctMotoS3Event(
  body: string,
  sequencerOf: (key: string, versionId: string) => string | undefined,
): { body: string; corrected: boolean } {
  let event: { time?: unknown; source?: unknown; detail?: { object?: Record<string, unknown> } };
  try {
    event = JSON.parse(body);
  } catch {
    return { body, corrected: false };
  }
  const object = event.detail?.object;
  if (event.source !== 'aws.s3' || !object) return { body, corrected: false };
  let corrected = false;
  if (object.etag === undefined && typeof object.eTag === 'string') {
    object.etag = object.eTag;
    delete object.eTag;
    corrected = true;
  }
  if (typeof event.time === 'number') {
    event.time = new Date(event.time * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    corrected = true;
  }
  const sequencer = sequencerOf(String(object.key), String(object['version-id']));
  if (sequencer && object.sequencer !== sequencer) {
    object.sequencer = sequencer;
    corrected = true;
  }
  return corrected ? { body: JSON.stringify(event), corrected } : { body, corrected };
}

/** moto answers a JSON-protocol request it denies with an XML body the SDK cannot parse: both count as access denied. */
export function isAccessDenied(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number }; $response?: { statusCode?: number } };
  const status = e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode;
  if (e?.name === 'SignatureDoesNotMatch' || e?.name === 'InvalidClientTokenId' || e?.name === 'InvalidAccessKeyId') return false;
  return e?.name === 'AccessDenied' || e?.Code === 'AccessDenied' || e?.name === 'AccessDeniedException' || status === 403;
}
