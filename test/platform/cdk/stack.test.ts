import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../platform/cdk/app.js';
import { stackNameOf } from '../../../platform/cdk/partner-etl-stack.js';
import { loadPlatformConfig } from '../../../platform/config/load-config.js';
import { ConfigError, formatProblem } from '../../../platform/config/problems.js';
import { feedSessionPolicy } from '../../../lambdas/transformer/feed-access-policy.js';
import { listFeeds } from '../../../lambdas/transformer/model.js';

const REPO = join(import.meta.dirname, '../../..');
const FEEDS = listFeeds(loadPlatformConfig(REPO).config);

function synth(root: string, context: Record<string, unknown> = {}): Template {
  const app = buildApp({ root, stage: 'dev', context, outdir: mkdtempSync(join(tmpdir(), 'cdk-out-')) });
  app.synth();
  return Template.fromStack(app.node.findChild(stackNameOf('dev')) as Stack);
}

/** A copy of the repository's config folders, to add or break partners in. */
function copyConfig(): string {
  const root = mkdtempSync(join(tmpdir(), 'partner-etl-cdk-'));
  cpSync(join(REPO, 'partners'), join(root, 'partners'), { recursive: true });
  cpSync(join(REPO, 'mappings'), join(root, 'mappings'), { recursive: true });
  return root;
}

let template: Template;
beforeAll(() => {
  template = synth(REPO);
}, 120_000);

describe('per feed', () => {
  it('has exactly one rule matching its bucket, prefix and suffix, targeting its queue with a DLQ', () => {
    const rules = template.findResources('AWS::Events::Rule');
    expect(Object.keys(rules)).toHaveLength(FEEDS.length);
    for (const feed of FEEDS) {
      const matching = Object.entries(rules).filter(([id]) => id.startsWith(`Feed${feed.partner}${feed.id}`.replace(/-/g, '')));
      expect(matching, `${feed.partner}/${feed.id}`).toHaveLength(1);
      const [, rule] = matching[0]!;
      expect(rule.Properties.EventPattern).toEqual({
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: {
          bucket: { name: [{ Ref: expect.stringMatching(/^InboundBucket/) }] },
          object: { key: [{ wildcard: `${feed.source.prefix}*${feed.source.suffix}` }] },
        },
      });
      expect(rule.Properties.Targets).toHaveLength(1);
      expect(rule.Properties.Targets[0]).toMatchObject({
        Arn: { 'Fn::GetAtt': [expect.stringMatching(/Queue/), 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [expect.stringMatching(/DeadLetterQueue/), 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 86400 },
      });
    }
  });

  it('has one queue and one dead-letter queue, redriving after 5 receives', () => {
    template.resourceCountIs('AWS::SQS::Queue', FEEDS.length * 2);
    template.resourcePropertiesCountIs(
      'AWS::SQS::Queue',
      { RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: Match.anyValue() } },
      FEEDS.length,
    );
  });

  it('has one event source mapping with partial batch responses and the feed maximum concurrency', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', FEEDS.length);
    for (const feed of FEEDS) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^Feed${feed.partner}${feed.id}Queue`), 'Arn'] },
        BatchSize: 1,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: feed.concurrency },
      });
    }
  });

  it('keeps queue visibility at least six times the function timeout and DLQ retention longer than the queue', () => {
    const fn = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Runtime: 'nodejs24.x' } }));
    expect(fn).toHaveLength(1);
    const timeout = fn[0]!.Properties.Timeout as number;
    const queues = Object.values(template.findResources('AWS::SQS::Queue'));
    const main = queues.filter((q) => q.Properties.RedrivePolicy);
    const dlqs = queues.filter((q) => !q.Properties.RedrivePolicy);
    for (const q of main) {
      expect(q.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
      expect(q.Properties.MessageRetentionPeriod).toBeLessThan(14 * 86400);
    }
    for (const q of dlqs) expect(q.Properties.MessageRetentionPeriod).toBe(14 * 86400);
  });
});

describe('the transformer', () => {
  it('is one Node.js 24 arm64 function carrying the bundle hash, with memory and timeout from context', () => {
    template.resourcePropertiesCountIs('AWS::Lambda::Function', { Runtime: 'nodejs24.x' }, 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 2048,
      Timeout: 900,
      Environment: { Variables: Match.objectLike({ PARTNER_ETL_CONFIG_HASH: Match.stringLikeRegexp('^[0-9a-f]{64}$') }) },
    });
    const sized = synth(REPO, { memoryMiB: 3008, timeoutSeconds: 600 });
    sized.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs24.x', MemorySize: 3008, Timeout: 600 });
  }, 120_000);
});

describe('IAM least privilege', () => {
  // the platform's policies (the partners' upload and SFTP roles have theirs, tested below)
  const statements = () =>
    Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => !/Upload|Sftp/.test(JSON.stringify(p.Properties.Roles)))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
  const actions = (s: { Action: string | string[] }) => [s.Action].flat();
  const resources = (s: { Resource: unknown }) => [s.Resource].flat().map((r) => JSON.stringify(r));

  it('reads the inbound bucket only under the configured prefixes', () => {
    const reads = statements().filter((s) => actions(s).some((a) => a.startsWith('s3:Get')));
    const readResources = reads.flatMap(resources);
    expect(readResources).toHaveLength(FEEDS.length);
    for (const feed of FEEDS) expect(readResources.some((r) => r.includes(`/${feed.source.prefix}*`))).toBe(true);
    expect(readResources.every((r) => r.includes('InboundBucket'))).toBe(true);
  });

  it('never writes the inbound bucket and writes only output and rejects locations', () => {
    const writes = statements().filter((s) => actions(s).some((a) => a.startsWith('s3:Put') || a.startsWith('s3:Delete')));
    const written = writes.flatMap(resources);
    expect(written.some((r) => r.includes('InboundBucket'))).toBe(false);
    expect(written.every((r) => /OutputBucket|RejectsBucket/.test(r) && r.includes('*'))).toBe(true);
    const puts = statements()
      .filter((s) => actions(s).some((a) => a.startsWith('s3:Put')))
      .flatMap(resources);
    expect(puts).toHaveLength(FEEDS.length * 2);
    // deletes: only a feed's own output and rejects (a crashed attempt's files taken back from a DUPLICATE or FAILED version)
    const deletes = statements()
      .filter((s) => actions(s).some((a) => a.startsWith('s3:Delete')))
      .flatMap(resources);
    expect(deletes).toHaveLength(FEEDS.length * 2);
    expect(deletes.every((r) => /OutputBucket|RejectsBucket/.test(r))).toBe(true);
    expect(statements().some((s) => actions(s).some((a) => a === 's3:*' || a === '*'))).toBe(false);
  });

  it('has no bare * resource in any IAM policy', () => {
    for (const s of statements()) expect(resources(s)).not.toContain('"*"');
  });

  it('gives each feed a policy of its own', () => {
    for (const feed of FEEDS) {
      const id = `FeedAccess${feed.partner}${feed.id}`;
      expect(Object.keys(template.findResources('AWS::IAM::Policy')).some((k) => k.startsWith(id))).toBe(true);
    }
  });

  it("narrows the platform key to what each role's services use: no ReEncrypt, S3 and the ledger's services only", () => {
    const kms = statements().filter((s) => actions(s).some((a) => a.startsWith('kms:')));
    expect(kms.length).toBeGreaterThan(0);
    for (const s of kms) expect(actions(s).filter((a) => a.startsWith('kms:ReEncrypt') || a.endsWith('*'))).toEqual([]);
    expect(JSON.stringify(statements())).not.toContain('/index/');
  });
});

describe("isolation at run time: the function handles a file with its feed's credentials", () => {
  const policiesOf = (rolePrefix: string) =>
    Object.entries(template.findResources('AWS::IAM::Policy')).filter(([, p]) =>
      (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref.startsWith(rolePrefix)),
    );
  const roleOf = (prefix: string) => Object.entries(template.findResources('AWS::IAM::Role')).find(([id]) => id.startsWith(prefix))!;

  it("gives the function's own role no S3 action, and only sts:AssumeRole into the feed-access role", () => {
    const own = policiesOf('TransformerRole').flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[]);
    expect(own.length).toBeGreaterThan(0);
    expect(JSON.stringify(own)).not.toContain('s3:');
    const assume = own.filter((s) => JSON.stringify(s.Action).includes('sts:'));
    const [feedRoleId] = roleOf('TransformerFeedAccessRole');
    expect(assume).toEqual([
      { Sid: 'AssumeFeedAccess', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: { 'Fn::GetAtt': [feedRoleId, 'Arn'] } },
    ]);
  });

  it('lets only the function assume the feed-access role, for an hour at most, and tells the function its ARN', () => {
    const [, role] = roleOf('TransformerFeedAccessRole');
    expect(role.Properties.MaxSessionDuration).toBe(3600);
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { AWS: { 'Fn::GetAtt': [expect.stringMatching(/^TransformerRole/), 'Arn'] } },
      },
    ]);
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function')).filter((f) =>
      JSON.stringify(f.Properties.Environment ?? {}).includes('LEDGER_TABLE'),
    );
    expect(fn!.Properties.Environment.Variables).toMatchObject({
      FEED_ACCESS_ROLE_ARN: { 'Fn::GetAtt': [expect.stringMatching(/^TransformerFeedAccessRole/), 'Arn'] },
      PLATFORM_KEY_ARN: { 'Fn::GetAtt': [expect.stringMatching(/^PlatformKey/), 'Arn'] },
    });
  });

  it("holds on the feed-access role each feed's statements, exactly the session policy the function builds for it", () => {
    for (const feed of FEEDS) {
      const [[, policy]] = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) =>
        id.startsWith(`FeedAccess${feed.partner}${feed.id}Policy`),
      ) as [[string, { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: unknown[] } } }]];
      expect(policy.Properties.Roles).toEqual([{ Ref: expect.stringMatching(/^TransformerFeedAccessRole/) }]);
      // the template's statements, with the bucket and key tokens written as the function writes ARNs
      const resolved = JSON.parse(
        JSON.stringify(policy.Properties.PolicyDocument.Statement)
          .replace(
            /\{"Fn::Join":\["",\[\{"Fn::GetAtt":\["(Inbound|Output|Rejects)Bucket\w+","Arn"\]\},"([^"]*)"\]\]\}/g,
            (_m, bucket: string, suffix: string) => `"arn:aws:s3:::${bucket.toLowerCase()}${suffix}"`,
          )
          .replace(
            /\{"Fn::GetAtt":\["(Inbound|Output|Rejects)Bucket\w+","Arn"\]\}/g,
            (_m, bucket: string) => `"arn:aws:s3:::${bucket.toLowerCase()}"`,
          ),
      ) as unknown[];
      const session = JSON.parse(
        feedSessionPolicy(feed, {
          inboundBucketArn: 'arn:aws:s3:::inbound',
          outputBucketArn: 'arn:aws:s3:::output',
          rejectsBucketArn: 'arn:aws:s3:::rejects',
          keyArn: 'key',
        }),
      ) as { Statement: { Sid: string }[] };
      const normalise = (list: unknown[]) =>
        list.map((s) => {
          const { Action, Resource, ...rest } = s as { Action: string | string[]; Resource: string | string[] };
          return { ...rest, Action: [Action].flat(), Resource: [Resource].flat() };
        });
      expect(normalise(resolved)).toEqual(normalise(session.Statement.filter((s) => s.Sid !== 'PlatformKeyThroughS3')));
    }
  });
});

describe('partner upload roles', () => {
  const config = loadPlatformConfig(REPO).config;
  const uploadPolicyOf = (partner: string) => {
    const found = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith(`Upload${partner}Policy`));
    expect(found, partner).toHaveLength(1);
    return found[0]![1].Properties;
  };
  const objectArn = (prefix: string) => ({
    'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^InboundBucket/), 'Arn'] }, `/${prefix}*`]],
  });

  it('gives every sample partner a role its principals assume, and names it in the outputs', () => {
    const roles = Object.entries(template.findResources('AWS::IAM::Role')).filter(([id]) => id.startsWith('Upload'));
    expect(roles).toHaveLength(config.partners.length);
    for (const partner of config.partners) {
      const [, role] = roles.find(([id]) => id.startsWith(`Upload${partner.id}Role`))!;
      const trusted = JSON.stringify(role.Properties.AssumeRolePolicyDocument);
      for (const principal of partner.access!.iamPrincipals!) expect(trusted).toContain(principal);
    }
    expect(JSON.stringify(template.toJSON().Outputs.PartnerUploadRoleArns.Value)).toContain('UploadacmeRole');
  });

  it("allows exactly PutObject and AbortMultipartUpload on the partner's own feed prefixes (TLS and the platform key required), and reading its own reject reports", () => {
    for (const partner of config.partners) {
      const statements = uploadPolicyOf(partner.id).PolicyDocument.Statement;
      const objects = partner.feeds.map((f) => objectArn(f.source.prefix));
      const ofPartner = () => (partner.feeds.length === 1 ? objects[0] : objects);
      expect(statements).toEqual([
        {
          Sid: 'UploadUnderFeedPrefixes',
          Effect: 'Allow',
          Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
          Resource: ofPartner(),
        },
        {
          Sid: 'DenyWithoutTls',
          Effect: 'Deny',
          Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
          Resource: ofPartner(),
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
        {
          Sid: 'DenyOtherEncryption',
          Effect: 'Deny',
          Action: 's3:PutObject',
          Resource: ofPartner(),
          Condition: {
            StringNotEqualsIfExists: {
              's3:x-amz-server-side-encryption': 'aws:kms',
              's3:x-amz-server-side-encryption-aws-kms-key-id': { 'Fn::GetAtt': [expect.stringMatching(/^PlatformKey/), 'Arn'] },
            },
          },
        },
        {
          Sid: 'UsePlatformKeyThroughS3',
          Effect: 'Allow',
          Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^PlatformKey/), 'Arn'] },
          Condition: { StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } },
        },
        {
          Sid: 'ReadOwnRejectReports',
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: partner.feeds.flatMap((f) =>
            ['.rejects.csv', '.rejects-summary.txt', '.rejects-summary.html'].map((suffix) => ({
              'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^RejectsBucket/), 'Arn'] }, `/${partner.id}/${f.id}/*${suffix}`]],
            })),
          ),
        },
        {
          Sid: 'ListOwnRejects',
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^RejectsBucket/), 'Arn'] },
          Condition: { StringLike: { 's3:prefix': [`${partner.id}/`, `${partner.id}/*`] } },
        },
      ]);
      // never another partner's prefix, nor the engineers' rejects NDJSON or a split run's work files
      const text = JSON.stringify(statements);
      expect(text).not.toContain('.ndjson');
      expect(text).not.toContain('.split/');
      for (const other of config.partners.filter((p) => p.id !== partner.id)) expect(text).not.toContain(`/${other.id}/`);
    }
  });

  it('creates no SFTP server when no partner asks for one', () => {
    expect(Object.keys(template.findResources('AWS::Transfer::Server'))).toEqual([]);
  });
});

/** Every Allow to an AWS service in a template, and whether an aws:SourceArn/SourceAccount condition binds it. */
function serviceGrants(t: Template) {
  const documents = Object.values(t.toJSON().Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>).flatMap(
    (r) =>
      [r.Properties?.PolicyDocument, r.Properties?.KeyPolicy, r.Properties?.AssumeRolePolicyDocument].filter(Boolean) as {
        Statement: Record<string, unknown>[];
      }[],
  );
  return documents
    .flatMap((d) => d.Statement)
    .filter((s) => s.Effect === 'Allow' && JSON.stringify(s.Principal ?? {}).includes('"Service"'))
    .map((s) => {
      const service = JSON.stringify((s.Principal as { Service: unknown }).Service);
      const conditions = JSON.stringify(s.Condition ?? {});
      // CloudWatch Logs is bound by the encryption context of its own log groups instead; a Lambda
      // function's own execution role is assumed by the Lambda service for that function only.
      const bound =
        /aws:Source(Arn|Account)/.test(conditions) ||
        conditions.includes('kms:EncryptionContext:aws:logs:arn') ||
        (s.Action === 'sts:AssumeRole' && /lambda|states/.test(service));
      return { service, actions: s.Action, bound };
    });
}

describe('service principals', () => {
  it('every statement granting an AWS service carries an aws:SourceArn or aws:SourceAccount condition', () => {
    const granted = serviceGrants(template);
    expect(granted.length).toBeGreaterThan(0);
    for (const g of granted) expect(g).toEqual({ ...g, bound: true });
  });
});

describe('SFTP, when a partner asks for it', () => {
  const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ4m2YwZ4h2lV0K7dFf1pQx3X9yqS8d1Zk3n6fO2a9bC acme-uploader';
  let sftp: Template;
  beforeAll(() => {
    const root = copyConfig();
    const acme = join(root, 'partners/acme.yaml');
    writeFileSync(acme, readFileSync(acme, 'utf8').replace('access:\n', `access:\n  sftp:\n    publicKeys: ["${KEY}"]\n`));
    sftp = synth(root);
  }, 120_000);

  it('creates one SFTP server and one user, at home in the partner prefix, and names them in the outputs', () => {
    const servers = Object.values(sftp.findResources('AWS::Transfer::Server'));
    expect(servers).toHaveLength(1);
    expect(servers[0]!.Properties).toMatchObject({
      Protocols: ['SFTP'],
      EndpointType: 'PUBLIC',
      IdentityProviderType: 'SERVICE_MANAGED',
      Domain: 'S3',
      SecurityPolicyName: 'TransferSecurityPolicy-2024-01',
    });
    const users = Object.values(sftp.findResources('AWS::Transfer::User'));
    expect(users).toHaveLength(1);
    expect(users[0]!.Properties).toMatchObject({
      UserName: 'acme',
      HomeDirectoryType: 'LOGICAL',
      HomeDirectoryMappings: [
        { Entry: '/', Target: { 'Fn::Join': ['', ['/', { Ref: expect.stringMatching(/^InboundBucket/) }, '/acme']] } },
      ],
      SshPublicKeys: [KEY],
    });
    const outputs = sftp.toJSON().Outputs;
    expect(outputs.PartnerSftpUsers.Value).toBe('{"acme":"acme"}');
    expect(JSON.stringify(outputs.SftpEndpoint.Value)).toContain('.server.transfer.');
  });

  it("lets the user's role put under acme's feed prefixes and list acme's prefix, nothing else", () => {
    const acme = loadPlatformConfig(REPO).config.partners.find((p) => p.id === 'acme')!;
    const [policy] = Object.entries(sftp.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith('SftpPolicyacme'));
    const inboundArn = { 'Fn::GetAtt': [expect.stringMatching(/^InboundBucket/), 'Arn'] };
    expect(policy![1].Properties.PolicyDocument.Statement).toEqual([
      {
        Sid: 'UploadUnderFeedPrefixes',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
        Resource: acme.feeds.map((f) => ({ 'Fn::Join': ['', [inboundArn, `/${f.source.prefix}*`]] })),
      },
      {
        Sid: 'ListOwnPrefix',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: inboundArn,
        Condition: { StringLike: { 's3:prefix': ['acme/', 'acme/*'] } },
      },
      {
        Sid: 'UsePlatformKeyThroughS3',
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^PlatformKey/), 'Arn'] },
        Condition: { StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } },
      },
    ]);
    // Transfer Family assumes the user's role only for this account's users of this server.
    const [, role] = Object.entries(sftp.findResources('AWS::IAM::Role')).find(([id]) => id.startsWith('SftpRoleacme'))!;
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { Service: 'transfer.amazonaws.com' },
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLike: { 'aws:SourceArn': expect.objectContaining({ 'Fn::Join': expect.anything() }) },
        },
      },
    ]);
    expect(JSON.stringify(role.Properties.AssumeRolePolicyDocument)).toContain(':user/');
    const transfer = serviceGrants(sftp).filter((g) => g.service.includes('transfer'));
    expect(transfer).toHaveLength(2); // the logging role and acme's user role
    for (const g of transfer) expect(g).toEqual({ ...g, bound: true });
  });
});

describe('encryption and durability', () => {
  it('encrypts every data bucket with the platform key and enforces SSL on every bucket', () => {
    const buckets = template.findResources('AWS::S3::Bucket');
    expect(Object.keys(buckets)).toHaveLength(4);
    for (const [id, bucket] of Object.entries(buckets)) {
      const sse = bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault;
      if (id.startsWith('AccessLogs')) expect(sse.SSEAlgorithm).toBe('AES256');
      else {
        expect(sse).toEqual({ SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [expect.stringMatching(/^PlatformKey/), 'Arn'] } });
        expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
        expect(bucket.Properties.LoggingConfiguration).toBeDefined();
      }
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
    }
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy'));
    expect(policies).toHaveLength(4);
    for (const p of policies) {
      expect(p.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('sends inbound object events to EventBridge without a custom resource', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
    });
    template.resourceCountIs('Custom::S3BucketNotifications', 0);
  });

  it('encrypts every queue with the platform key and denies non-SSL access', () => {
    for (const q of Object.values(template.findResources('AWS::SQS::Queue'))) {
      expect(q.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^PlatformKey/), 'Arn'] });
    }
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
    expect(policies.length).toBeGreaterThanOrEqual(FEEDS.length * 2);
    for (const p of policies) {
      expect(p.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('rotates the key and lets EventBridge use it', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'events.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey'] }),
        ]),
      },
    });
  });

  it('keeps the ledger with PITR, the platform key, TTL and query indexes', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PlatformKey'), 'Arn'] },
      },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      GlobalSecondaryIndexes: [
        Match.objectLike({ IndexName: 'byPartner' }),
        Match.objectLike({ IndexName: 'byStatus' }),
        Match.objectLike({
          IndexName: 'byDay',
          KeySchema: [
            { AttributeName: 'gsi3pk', KeyType: 'HASH' },
            { AttributeName: 'gsi3sk', KeyType: 'RANGE' },
          ],
        }),
      ],
    });
  });

  it('retains data in prod and lets dev be torn down', () => {
    const prod = buildApp({ root: REPO, stage: 'prod', outdir: mkdtempSync(join(tmpdir(), 'cdk-out-')) });
    prod.synth();
    const t = Template.fromStack(prod.node.findChild(stackNameOf('prod')) as Stack);
    t.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
    t.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', Properties: Match.objectLike({ DeletionProtectionEnabled: true }) });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  }, 120_000);
});

describe('monitoring', () => {
  it('alarms on every dead-letter queue, oldest message age, rejected rows, header drift, function errors and throttles', () => {
    const alarms = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(FEEDS.length * 4 + 2);
    for (const feed of FEEDS) {
      for (const kind of ['DeadLetters', 'OldestMessage', 'RejectedRows', 'HeaderDrift']) {
        expect(alarms.some((a) => a.startsWith(`Monitoring${feed.partner}${feed.id}${kind}`))).toBe(true);
      }
    }
    // A drifted header alerts the partner's owner: the alarm acts on the partner's topic, which mails the owner.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ MetricName: 'HeaderDrift', Dimensions: Match.arrayWith([{ Name: 'partner', Value: 'acme' }]) }),
          }),
        }),
      ],
      AlarmActions: Match.arrayWith([{ Ref: Match.stringLikeRegexp('^MonitoringAlertsacme') }]),
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'orders-team@example.com' });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('adding a partner', () => {
  it('adds exactly its resources and leaves every existing resource unchanged', () => {
    const root = copyConfig();
    writeFileSync(
      join(root, 'partners/initech.yaml'),
      `id: initech\nname: Initech\nowner: tps@example.com\nfeeds:\n  - id: reports\n    source: { prefix: initech/reports/ }\n    mapping: { id: id }\n    schema: reports.schema.json\n    output: { dataset: reports }\n`,
    );
    mkdirSync(join(root, 'mappings/initech'));
    writeFileSync(join(root, 'mappings/initech/reports.schema.json'), '{"type":"object","required":["id"]}');
    const before = template.toJSON().Resources as Record<string, { Type: string; Properties?: unknown }>;
    const after = synth(root).toJSON().Resources as Record<string, { Type: string; Properties?: unknown }>;

    const added = Object.keys(after).filter((id) => !(id in before));
    expect(Object.keys(before).filter((id) => !(id in after))).toEqual([]);
    expect(added.length).toBeGreaterThan(0);
    expect(added.every((id) => /initech/i.test(id))).toBe(true);
    expect(added.map((id) => after[id]!.Type).sort()).toEqual(
      [
        'AWS::CloudWatch::Alarm',
        'AWS::CloudWatch::Alarm',
        'AWS::CloudWatch::Alarm',
        'AWS::CloudWatch::Alarm',
        'AWS::Events::Rule',
        'AWS::IAM::Policy', // the feed's S3 statements, on the feed-access role
        'AWS::IAM::Policy', // consuming the feed's queue, on the function's role
        'AWS::Lambda::EventSourceMapping',
        'AWS::SNS::Subscription',
        'AWS::SNS::Topic',
        'AWS::SNS::TopicPolicy',
        'AWS::SQS::Queue',
        'AWS::SQS::Queue',
        'AWS::SQS::QueuePolicy',
        'AWS::SQS::QueuePolicy',
      ].sort(),
    );

    // What a new partner necessarily changes: the function's code and config hash (it carries the
    // bundle) and the dashboard (a row per partner). Everything else is byte-for-byte the same.
    const changed = Object.keys(before).filter((id) => JSON.stringify(before[id]) !== JSON.stringify(after[id]));
    expect(changed.map((id) => before[id]!.Type).sort()).toEqual(['AWS::CloudWatch::Dashboard', 'AWS::Lambda::Function']);
    const fnId = changed.find((id) => before[id]!.Type === 'AWS::Lambda::Function')!;
    const strip = (r: { Properties?: unknown }) => {
      const p = structuredClone(r.Properties) as { Code: unknown; Environment: { Variables: Record<string, unknown> } };
      delete p.Code;
      delete p.Environment.Variables.PARTNER_ETL_CONFIG_HASH;
      return p;
    };
    expect(strip(after[fnId]!)).toEqual(strip(before[fnId]!));
  }, 120_000);
});

describe('invalid partner files fail the synth with the validate messages', () => {
  it('for a broken partner file', () => {
    const root = copyConfig();
    writeFileSync(join(root, 'partners/acme.yaml'), 'id: acme\nname: ACME\nowner: x@example.com\nfeeds: []\n');
    const expected = loadPlatformConfig(root)
      .problems.filter((p) => p.severity === 'error')
      .map(formatProblem);
    expect(expected).toEqual(['partners/acme.yaml:4:8: feeds must NOT have fewer than 1 items ([])']);
    expect(() => buildApp({ root })).toThrow(ConfigError);
    expect(() => buildApp({ root })).toThrow(expected[0]);
  });

  it('for overlapping prefixes', () => {
    const root = copyConfig();
    writeFileSync(
      join(root, 'partners/acme2.yaml'),
      `id: acme2\nname: ACME 2\nowner: x@example.com\nfeeds:\n  - id: orders\n    source: { prefix: acme/orders/eu/ }\n    mapping: { id: id }\n    schema: s.json\n    output: { dataset: orders }\n`,
    );
    mkdirSync(join(root, 'mappings/acme2'));
    writeFileSync(join(root, 'mappings/acme2/s.json'), '{}');
    expect(() => buildApp({ root })).toThrow(
      'partners/acme.yaml:12:15: source prefix of acme/orders is a prefix of the prefix of acme2/orders (acme/orders/eu/); a key must belong to exactly one feed ("acme/orders/")',
    );
  });
});

describe('cdk-nag', () => {
  it('fails the synth on an unacknowledged finding', () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-out-')) });
    const stack = new Stack(app, 'Nag');
    new s3.Bucket(stack, 'Plain');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions|Validation failed/);
  });
});
