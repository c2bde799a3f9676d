import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { PartnerConfig } from '../../../lambdas/transformer/model.js';
import { REJECT_REPORT_SUFFIXES } from '../../../lambdas/transformer/output-keys.js';
import { acknowledge, wildcardResourceFinding } from '../nag.js';

export interface PartnerUploadProps {
  /** The partner; its `access.iamPrincipals` may assume the role, its feeds' prefixes are what it may write. */
  readonly partner: PartnerConfig;
  readonly inboundBucket: s3.IBucket;
  /** The platform key the inbound bucket encrypts with: uploads must use it. */
  readonly encryptionKey: kms.IKey;
  /** Where the partner's reject reports are: the role may read those of its own feeds (and list its own prefix). */
  readonly rejectsBucket?: s3.IBucket;
}

/** The S3 actions of an upload: a put, and the multipart upload a put may be (and its abort). Nothing reads, lists or deletes. */
export const UPLOAD_ACTIONS = ['s3:PutObject', 's3:AbortMultipartUpload'] as const;

/**
 * A partner's way in: a write-only role that the partner's own principals may assume. It may put
 * objects (whole or multipart) under the partner's feed prefixes and nothing else: no read, list or
 * delete, no other partner's prefix. Uploads must travel over TLS and be encrypted with the platform
 * key (the bucket's default; a request naming another key or another encryption is denied).
 */
export class PartnerUpload extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: PartnerUploadProps) {
    super(scope, id);
    const { partner } = props;
    const principals = (partner.access?.iamPrincipals ?? []).map((p) =>
      /^\d{12}$/.test(p) ? new iam.AccountPrincipal(p) : new iam.ArnPrincipal(p),
    );
    if (principals.length === 0) throw new Error(`partner ${partner.id} has no access.iamPrincipals: it needs no upload role`);
    const objects = partnerObjectArns(partner, props.inboundBucket);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.CompositePrincipal(...principals),
      description: `partner-etl: ${partner.id} uploads files under its feed prefixes (write only)`,
    });
    const policy = new iam.Policy(this, 'Policy', {
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({ sid: 'UploadUnderFeedPrefixes', actions: [...UPLOAD_ACTIONS], resources: objects }),
        new iam.PolicyStatement({
          sid: 'DenyWithoutTls',
          effect: iam.Effect.DENY,
          actions: [...UPLOAD_ACTIONS],
          resources: objects,
          conditions: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
        new iam.PolicyStatement({
          sid: 'DenyOtherEncryption',
          effect: iam.Effect.DENY,
          actions: ['s3:PutObject'],
          resources: objects,
          conditions: {
            StringNotEqualsIfExists: {
              's3:x-amz-server-side-encryption': 'aws:kms',
              's3:x-amz-server-side-encryption-aws-kms-key-id': props.encryptionKey.keyArn,
            },
          },
        }),
        usePlatformKeyThroughS3(props.encryptionKey),
        ...(props.rejectsBucket ? readOwnRejectReports(partner, props.rejectsBucket) : []),
      ],
    });
    acknowledgePartnerPrefixes(policy, partner, props.inboundBucket);
    if (props.rejectsBucket) {
      const rejects = props.rejectsBucket;
      const reason = `Reject reports are named per file; the wildcards cover only ${partner.id}'s own report files.`;
      acknowledge(
        policy,
        partner.feeds.flatMap((f) =>
          REJECT_REPORT_SUFFIXES.map((suffix) => ({ id: wildcardResourceFinding(rejects, `/${partner.id}/${f.id}/*${suffix}`), reason })),
        ),
      );
    }
  }
}

/**
 * The partner reads its own reject reports (the CSV and the summaries under `<partner>/<feed>/` in
 * the rejects bucket), and lists its own prefix there to find them; not the engineers' rejects NDJSON,
 * nor a split run's work files, nor any other partner's.
 */
function readOwnRejectReports(partner: PartnerConfig, rejectsBucket: s3.IBucket): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'ReadOwnRejectReports',
      actions: ['s3:GetObject'],
      resources: partner.feeds.flatMap((f) =>
        REJECT_REPORT_SUFFIXES.map((suffix) => rejectsBucket.arnForObjects(`${partner.id}/${f.id}/*${suffix}`)),
      ),
    }),
    new iam.PolicyStatement({
      sid: 'ListOwnRejects',
      actions: ['s3:ListBucket'],
      resources: [rejectsBucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${partner.id}/`, `${partner.id}/*`] } },
    }),
  ];
}

/** The objects under a partner's feed prefixes in the inbound bucket. */
export function partnerObjectArns(partner: PartnerConfig, inboundBucket: s3.IBucket): string[] {
  return partner.feeds.map((f) => inboundBucket.arnForObjects(`${f.source.prefix}*`));
}

/** SSE-KMS: an upload needs a data key, and a multipart upload's completion decrypts it; only through S3. */
export function usePlatformKeyThroughS3(key: kms.IKey): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'UsePlatformKeyThroughS3',
    actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
    resources: [key.keyArn],
    conditions: { StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } },
  });
}

/** The cdk-nag wildcard findings of a policy on a partner's feed prefixes, acknowledged one by one. */
export function acknowledgePartnerPrefixes(policy: iam.Policy, partner: PartnerConfig, inboundBucket: s3.IBucket): void {
  const reason = `Object keys a partner uploads are not known in advance; the wildcard covers only ${partner.id}'s own feed prefixes.`;
  acknowledge(
    policy,
    partner.feeds.map((f) => ({ id: wildcardResourceFinding(inboundBucket, `/${f.source.prefix}*`), reason })),
  );
}
