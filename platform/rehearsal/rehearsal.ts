/**
 * The deployment rehearsal: the synthesised stack deployed into moto_server, files uploaded into the
 * deployed inbound bucket, routed by the deployed rules, processed by the synthesised bundle under the
 * function role's own STS credentials with IAM enforcement on, and the results checked. See
 * docs/rehearsal.md for what this proves and what only a real account can.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeEventBusCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { GetFunctionCommand, GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDbFileLedger } from '../../lambdas/transformer/ledger/dynamodb-ledger.js';
import { versionRef, type FileRecord } from '../../lambdas/transformer/ledger/file-ledger.js';
import { EVENTS } from '../../lambdas/transformer/metrics-names.js';
import { listFeeds, resolveFeed, type FeedConfig, type PlatformConfig } from '../../lambdas/transformer/model.js';
import { bucketArn, feedSessionPolicy } from '../../lambdas/transformer/feed-access-policy.js';
import { outputPrefix } from '../../lambdas/transformer/output-keys.js';
import { STACK_OUTPUTS } from '../cdk/stack-outputs.js';
import { findGoldenCases, sampleKey, type GoldenCase } from '../config/golden.js';
import { requireValidConfig } from '../config/load-config.js';
import { MAX_RECEIVE_COUNT } from '../config/queue-settings.js';
import {
  admitRoleSessionInTrust,
  applySkippedBucketSettings,
  correctMotoS3Event,
  isAccessDenied,
  rewriteEventBusRefs,
  skippedResourceTypes,
  widenUnscopableStatements,
  type PolicyDocument,
  type Statement,
  type Template,
} from './emulator-gaps.js';
import {
  drainQueues,
  FunctionLoadError,
  startFunctionRuntime,
  type DeployedFunction,
  type Delivery,
  type FunctionRuntime,
  type PolledQueue,
} from './function-runtime.js';
import { MOTO_ACCOUNT, startMotoServer, type MotoServer } from './moto-server.js';
import { CHECK_GROUPS, Checks, type CheckGroup, type CheckResult } from './report.js';
import { startS3SigningShim, type S3SigningShim, type SessionCredentials } from './s3-signing-shim.js';
import {
  assetBytes,
  bundleExternals,
  functionEntry,
  linkRuntimeModules,
  sha256Base64,
  synthesiseStage,
  type SynthesisedStage,
} from './synth.js';

export interface RehearsalOptions {
  /** Repository (or config) root: partners/, mappings/, cdk.json. */
  readonly root: string;
  readonly stage?: 'dev' | 'prod';
  readonly region?: string;
  /** A stage synthesised earlier for the same account and region (the tests synthesise once). */
  readonly synthesised?: SynthesisedStage;
  /** Changes the template before it is deployed: the deliberate-break tests. */
  readonly breakTemplate?: (template: Template) => void;
  /** The groups to run (default all); others are not run. */
  readonly groups?: readonly CheckGroup[];
  /** Only these feeds' samples are uploaded (`partner/feed`); default every feed. */
  readonly feeds?: readonly string[];
  /** Each result as it is decided, and progress lines. */
  readonly onResult?: (result: CheckResult) => void;
  readonly onProgress?: (line: string) => void;
}

export interface RehearsalReport {
  readonly results: readonly CheckResult[];
  readonly ok: boolean;
  /** The bundle's log and moto's log, for a failure's diagnosis. */
  readonly functionLog: string;
  readonly motoLog: string;
}

/** What the rehearsal uploaded and what each upload must become. */
interface Upload {
  readonly label: string;
  readonly key: string;
  readonly bytes: Buffer;
  readonly versionId: string;
  readonly etag: string;
  /** The feed the config resolves the key to; undefined for a key of no feed. */
  readonly feed?: FeedConfig;
  readonly expect: 'golden' | 'duplicate' | 'new-version' | 'poison' | 'unrouted';
  readonly golden?: GoldenCase;
  readonly expectedOutput?: string;
  readonly expectedRejects?: string;
}

const REPO_CLI = 'platform/cli/partner-etl.mjs';

/** Runs the rehearsal; never throws for a failed check, only for a broken harness. */
export async function rehearse(options: RehearsalOptions): Promise<RehearsalReport> {
  const stage = options.stage ?? 'dev';
  const region = options.region ?? 'eu-west-1';
  const groups = new Set<CheckGroup>(options.groups ?? CHECK_GROUPS);
  const progress = options.onProgress ?? (() => undefined);
  const checks = new Checks(options.onResult);
  const config = requireValidConfig(options.root);
  const cleanups: (() => Promise<void> | void)[] = [];
  let moto: MotoServer | undefined;
  let runtime: FunctionRuntime | undefined;
  try {
    moto = await startMotoServer({ unauthenticatedRequests: 3 });
    cleanups.push(() => moto!.stop());
    progress(`moto_server on ${moto.endpoint} (pid ${moto.pid})`);
    const operator = await createOperator(moto.endpoint, region);
    const shim = await startS3SigningShim(moto.endpoint);
    cleanups.push(() => shim.stop());
    shim.trust(operator);
    const aws = clients(moto.endpoint, shim.endpoint, region, operator);
    cleanups.push(() => aws.destroy());

    let synthesised = options.synthesised;
    if (!synthesised) {
      const outdir = mkdtempSync(join(tmpdir(), 'partner-etl-rehearsal-'));
      cleanups.push(() => rmSync(outdir, { recursive: true, force: true }));
      progress('synthesising the stack');
      synthesised = synthesiseStage({ root: options.root, stage, outdir, account: MOTO_ACCOUNT, region });
    }

    // ---- deploy: publish the assets as `cdk deploy` does, then CreateStack from the bootstrap bucket
    progress('publishing assets and creating the stack');
    const template = JSON.parse(readFileSync(synthesised.templateFile, 'utf8')) as Template;
    options.breakTemplate?.(template);
    const busRefs = rewriteEventBusRefs(template);
    const published = await publishAssets(aws, synthesised, region);
    const templateKey = `rehearsal/${synthesised.stackName}.template.json`;
    await aws.s3direct.send(new PutObjectCommand({ Bucket: published.bucket, Key: templateKey, Body: JSON.stringify(template) }));
    const deployed = await deployStack(aws, synthesised.stackName, `https://s3.${region}.amazonaws.com/${published.bucket}/${templateKey}`);
    checks.check(
      'deploy',
      'stack reaches CREATE_COMPLETE',
      deployed.status === 'CREATE_COMPLETE' ? [] : [`${deployed.status}: ${deployed.reason ?? ''}`],
    );
    if (deployed.status !== 'CREATE_COMPLETE') return finish();
    const physical = new Map(deployed.resources.map((r) => [r.logicalId, r.physicalId]));
    // moto skips the types it does not model and still says CREATE_COMPLETE: those are notes, any other missing resource fails.
    const skipped = skippedResourceTypes(moto.log());
    const notModelled = Object.entries(template.Resources).filter(([, r]) => skipped.includes(r.Type));
    const missing = Object.entries(template.Resources).filter(([id, r]) => !physical.has(id) && !skipped.includes(r.Type));
    checks.check(
      'deploy',
      'every resource moto models is in the stack',
      missing.map(([id, r]) => `${id} (${r.Type}) missing`),
      `${Object.keys(template.Resources).length - notModelled.length} of ${Object.keys(template.Resources).length} resources`,
    );
    if (skipped.length)
      checks.info('deploy', 'types moto accepted without creating', `${notModelled.length} resources: ${skipped.join(', ')}`);
    const outputs = deployed.outputs;
    checks.check('deploy', 'outputs name deployed resources', await checkOutputs(aws, outputs, config));

    const compensated = await applySkippedBucketSettings(aws.s3direct, template, physical);
    if (busRefs || compensated.length) {
      checks.info('deploy', 'emulator compensations', [`EventBus Ref -> GetAtt Name (${busRefs})`, ...compensated].join('; '));
    }

    // ---- bundle: the deployed function's configuration, its code, and the bundle loaded with its environment
    const fnLogical = Object.entries(template.Resources).find(([, r]) => r.Type === 'AWS::Lambda::Function')?.[0];
    const fnName = fnLogical ? physical.get(fnLogical) : undefined;
    if (!fnName) {
      checks.check('bundle', 'the stack has the transformer function', ['no AWS::Lambda::Function in the stack']);
      return finish();
    }
    const fn = await readFunction(aws, fnName);
    const functionAsset = synthesised.assets.find((a) => a.packaging === 'zip' && a.objectKey === fn.s3Key);
    if (groups.has('bundle')) {
      checks.check(
        'bundle',
        'function code is the published asset',
        functionAsset && fn.codeSha256 === published.sha256.get(functionAsset.objectKey)
          ? []
          : [`CodeSha256 ${fn.codeSha256} is not that of ${fn.s3Key ?? 'the asset'}`],
      );
    }
    const needsFunction = ['bundle', 'processing', 'events', 'dead-letters', 'cli', 'iam'].some((g) => groups.has(g as CheckGroup));
    const queues = feedQueues(outputs, moto.endpoint, config);
    let session: SessionCredentials | undefined;
    let feedAccess: RoleFacts | undefined;
    if (needsFunction) {
      const widened = await widenUnscopableStatements(
        aws.iam,
        fn.roleName,
        fn.rolePolicies.map((p) => p.document),
      );
      checks.info('iam', 'actions moto cannot scope, widened to *', widened.join(', '));
      session = await roleSession(moto, aws, fn.roleArn);
      shim.trust(session);
      const feedAccessRoleArn = fn.config.environment.FEED_ACCESS_ROLE_ARN;
      if (feedAccessRoleArn) {
        feedAccess = await readRole(aws, feedAccessRoleArn);
        const sessionArn = `arn:aws:sts::${MOTO_ACCOUNT}:assumed-role/${fn.roleName}/${FUNCTION_SESSION}`;
        if (await admitRoleSessionInTrust(aws.iam, feedAccess.roleName, fn.roleArn, sessionArn)) {
          checks.info('iam', "feed-access role's trust: the function role's session admitted", `${sessionArn} (gap 13)`);
        }
      }
      if (!functionAsset) {
        checks.check('bundle', 'bundle loads with the deployed environment', [`no zip asset ${fn.s3Key} in ${synthesised.outdir}`]);
        return finish();
      }
      const entry = functionEntry(functionAsset, fn.config.handler);
      const externals = bundleExternals(entry);
      linkRuntimeModules(entry, options.root);
      checks.info('bundle', 'imports left to the Lambda runtime', `${externals.join(', ')} (here: the lockfile's versions)`);
      try {
        runtime = await startFunctionRuntime({
          entry,
          fn: fn.config,
          region,
          credentials: session,
          endpoints: { default: moto.endpoint, s3: shim.endpoint, sts: shim.endpoint },
        });
        cleanups.push(() => runtime!.stop());
        checks.check('bundle', 'bundle loads with the deployed environment', [], `${Object.keys(fn.config.environment).length} variables`);
      } catch (err) {
        if (!(err instanceof FunctionLoadError)) throw err;
        checks.check('bundle', 'bundle loads with the deployed environment', [err.message]);
        return finish();
      }
    }

    // ---- uploads and routing
    if (!['routing', 'processing', 'events', 'dead-letters', 'cli', 'iam'].some((g) => groups.has(g as CheckGroup))) return finish();
    const events = await captureEvents(aws, outputs[STACK_OUTPUTS.eventBus]!);
    const inbound = outputs[STACK_OUTPUTS.inboundBucket]!;
    const cases = findGoldenCases(options.root, config).filter(
      (c) => !options.feeds || options.feeds.includes(`${c.feed.partner}/${c.feed.id}`),
    );
    progress(`uploading ${cases.length} samples and the special cases`);
    const uploads: Upload[] = [];
    const sequencers = new Map<string, string>();
    for (const c of cases) {
      const bytes = readFileSync(join(options.root, c.csv));
      const expectedRejects = existsSync(join(options.root, c.expectedRejects))
        ? readFileSync(join(options.root, c.expectedRejects), 'utf8')
        : '';
      uploads.push({
        ...(await put(aws, sequencers, inbound, sampleKey(c), bytes)),
        label: `sample ${c.csv}`,
        feed: c.feed,
        expect: 'golden',
        golden: c,
        expectedOutput: readFileSync(join(options.root, c.expected), 'utf8'),
        expectedRejects,
      });
    }
    const unknownKey = 'rehearsal-unknown/orders/x.csv';
    uploads.push({
      ...(await put(aws, sequencers, inbound, unknownKey, Buffer.from('a,b\n1,2\n'))),
      label: 'key of no feed',
      expect: 'unrouted',
    });
    const first = cases[0];
    const poisonFeed = first?.feed;
    if (poisonFeed) {
      // Archived on upload: S3 refuses GetObject (InvalidObjectState) on every delivery, a file no retry can heal.
      const key = `${poisonFeed.source.prefix}rehearsal-poison${poisonFeed.source.suffix}`;
      uploads.push({
        ...(await put(aws, sequencers, inbound, key, readFileSync(join(options.root, first.csv)), 'GLACIER')),
        label: 'poison (archived)',
        feed: poisonFeed,
        expect: 'poison',
      });
    }
    const firstWave = [...uploads];
    let eventCorrections = 0;
    const correctBody = (body: string) => {
      const result = correctMotoS3Event(body, (key, versionId) => sequencers.get(`${key}\u0000${versionId}`));
      if (result.corrected) eventCorrections++;
      return result.body;
    };
    const drain = () => drainQueues({ sqs: sqsFor(moto!.endpoint, region, session!), queues, runtime: runtime!, region, correctBody });
    let deliveries: Delivery[] = [];
    if (runtime && session && (groups.has('processing') || groups.has('events') || groups.has('dead-letters') || groups.has('cli'))) {
      progress('processing the first wave');
      deliveries = await drain();
      if (first) {
        // Same bytes again (DUPLICATE), then a new version with the last record dropped (a new output).
        uploads.push({
          ...(await put(aws, sequencers, inbound, sampleKey(first), readFileSync(join(options.root, first.csv)))),
          label: 'same bytes again',
          feed: first.feed,
          expect: 'duplicate',
        });
        const { bytes, output } = withoutLastRecord(
          readFileSync(join(options.root, first.csv)),
          readFileSync(join(options.root, first.expected), 'utf8'),
        );
        if (bytes) {
          uploads.push({
            ...(await put(aws, sequencers, inbound, sampleKey(first), bytes)),
            label: 'new version',
            feed: first.feed,
            expect: 'new-version',
            golden: first,
            expectedOutput: output,
            expectedRejects: '',
          });
        }
      }
      progress('processing the second wave');
      deliveries.push(...(await drain()));
    } else {
      deliveries = await takeRouted(aws.sqs, queues);
    }
    for (const upload of uploads) resolveExpectedFeed(upload, config);

    progress('checking');
    if (groups.has('routing')) checkRouting(checks, uploads, deliveries);
    const ledger = new DynamoDbFileLedger(aws.dynamodb, outputs[STACK_OUTPUTS.ledgerTable]!);
    if (groups.has('processing')) await checkProcessing(checks, aws, ledger, outputs, uploads, fn.config.environment);
    if (groups.has('events')) await checkEvents(checks, aws.sqs, events, uploads);
    if (groups.has('dead-letters')) await checkDeadLetters(checks, aws.sqs, moto.endpoint, uploads, config, template, physical);
    if (groups.has('cli') && runtime && session && first) {
      progress('status and reprocess through the CLI');
      await checkCli(checks, options.root, moto.endpoint, region, operator, stage, sampleKey(first), drain, ledger, inbound);
    }
    if (eventCorrections) checks.info('routing', 'S3 events corrected (eTag, time, sequencer)', `${eventCorrections} deliveries`);
    if (groups.has('iam')) progress('probing IAM');
    if (groups.has('iam') && session) await checkIam(checks, aws, shim, session, { fn, feedAccess }, outputs, firstWave, template, config);
    return finish();
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  }

  function finish(): RehearsalReport {
    return { results: checks.results, ok: checks.failed.length === 0, functionLog: runtime?.logs() ?? '', motoLog: moto?.log() ?? '' };
  }
}

// ---------------------------------------------------------------------------------------------
// AWS plumbing

type Clients = ReturnType<typeof clients>;

function clients(endpoint: string, s3Endpoint: string, region: string, credentials: SessionCredentials) {
  const base = { endpoint, region, credentials };
  const all = {
    cfn: new CloudFormationClient(base),
    iam: new IAMClient(base),
    sts: new STSClient(base),
    lambda: new LambdaClient(base),
    ssm: new SSMClient(base),
    sns: new SNSClient(base),
    events: new EventBridgeClient(base),
    dynamodb: new DynamoDBClient(base),
    sqs: new SQSClient(base),
    /** Through the signing shim: keys with `=` (outputs, rejects). */
    s3: new S3Client({ ...base, endpoint: s3Endpoint, forcePathStyle: true }),
    /** Straight to moto: bucket-level calls and keys without `=`. */
    s3direct: new S3Client({ ...base, forcePathStyle: true }),
  };
  return { ...all, destroy: () => Object.values(all).forEach((c) => c.destroy()) };
}

function sqsFor(endpoint: string, region: string, credentials: SessionCredentials): SQSClient {
  return new SQSClient({ endpoint, region, credentials });
}

/**
 * The first three requests are unauthenticated: an operator user with admin rights and its keys.
 * Everything after them is signed and evaluated.
 */
async function createOperator(endpoint: string, region: string): Promise<SessionCredentials> {
  const iam = new IAMClient({ endpoint, region, credentials: { accessKeyId: 'bootstrap', secretAccessKey: 'bootstrap' } });
  try {
    await iam.send(new CreateUserCommand({ UserName: 'rehearsal-operator' }));
    await iam.send(
      new PutUserPolicyCommand({
        UserName: 'rehearsal-operator',
        PolicyName: 'operator',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }),
      }),
    );
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'rehearsal-operator' }))).AccessKey!;
    return { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
  } finally {
    iam.destroy();
  }
}

/** The CDK bootstrap bucket and version parameter, then every file asset, as `cdk deploy` publishes them. */
async function publishAssets(
  aws: Clients,
  stage: SynthesisedStage,
  region: string,
): Promise<{ bucket: string; sha256: Map<string, string> }> {
  const bucket = `cdk-hnb659fds-assets-${MOTO_ACCOUNT}-${region}`;
  await aws.s3direct.send(
    new CreateBucketCommand({
      Bucket: bucket,
      ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
    }),
  );
  await aws.ssm.send(new PutParameterCommand({ Name: '/cdk-bootstrap/hnb659fds/version', Value: '30', Type: 'String', Overwrite: true }));
  const sha256 = new Map<string, string>();
  for (const asset of stage.assets) {
    const name = asset.bucketName.replace('${AWS::AccountId}', MOTO_ACCOUNT).replace('${AWS::Region}', region);
    if (name !== bucket) throw new Error(`asset ${asset.path} goes to ${name}, not the bootstrap bucket ${bucket}`);
    const bytes = assetBytes(asset);
    sha256.set(asset.objectKey, sha256Base64(bytes));
    await aws.s3direct.send(new PutObjectCommand({ Bucket: bucket, Key: asset.objectKey, Body: bytes }));
  }
  return { bucket, sha256 };
}

interface DeployedStack {
  readonly status: string;
  readonly reason?: string;
  readonly outputs: Record<string, string>;
  readonly resources: { logicalId: string; physicalId: string; type: string }[];
}

async function deployStack(aws: Clients, stackName: string, templateUrl: string): Promise<DeployedStack> {
  await aws.cfn.send(
    new CreateStackCommand({ StackName: stackName, TemplateURL: templateUrl, Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'] }),
  );
  const deadline = Date.now() + 120_000;
  for (;;) {
    const stack = (await aws.cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
    const status = stack?.StackStatus ?? 'UNKNOWN';
    if (!status.endsWith('_IN_PROGRESS') || Date.now() > deadline) {
      const resources = (await aws.cfn.send(new DescribeStackResourcesCommand({ StackName: stackName }))).StackResources ?? [];
      return {
        status,
        reason: stack?.StackStatusReason,
        outputs: Object.fromEntries((stack?.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue ?? ''])),
        resources: resources.map((r) => ({
          logicalId: r.LogicalResourceId!,
          physicalId: r.PhysicalResourceId ?? '',
          type: r.ResourceType!,
        })),
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Each output names a resource that exists, and the feed queue map names every configured feed. */
async function checkOutputs(aws: Clients, outputs: Record<string, string>, config: PlatformConfig): Promise<string[]> {
  const problems: string[] = [];
  const sftp = config.partners.some((p) => p.access?.sftp);
  const uploads = config.partners.some((p) => p.access?.iamPrincipals?.length);
  const expected = Object.values(STACK_OUTPUTS).filter(
    (name) =>
      (sftp || (name !== STACK_OUTPUTS.sftpEndpoint && name !== STACK_OUTPUTS.sftpUsers)) &&
      (uploads || name !== STACK_OUTPUTS.uploadRoles),
  );
  for (const name of expected) if (!outputs[name]) problems.push(`output ${name} missing`);
  if (problems.length) return problems;
  const attempt = async (what: string, call: () => Promise<unknown>) => {
    try {
      await call();
    } catch (err) {
      problems.push(`${what}: ${(err as Error).name} ${(err as Error).message}`);
    }
  };
  for (const name of [STACK_OUTPUTS.inboundBucket, STACK_OUTPUTS.outputBucket, STACK_OUTPUTS.rejectsBucket]) {
    await attempt(`${name} ${outputs[name]}`, () => aws.s3direct.send(new HeadBucketCommand({ Bucket: outputs[name] })));
  }
  await attempt(`LedgerTableName`, () => aws.dynamodb.send(new DescribeTableCommand({ TableName: outputs[STACK_OUTPUTS.ledgerTable] })));
  await attempt(`EventBusName`, () => aws.events.send(new DescribeEventBusCommand({ Name: outputs[STACK_OUTPUTS.eventBus] })));
  await attempt(`AlarmTopicArn`, () => aws.sns.send(new GetTopicAttributesCommand({ TopicArn: outputs[STACK_OUTPUTS.alarmTopic] })));
  let urls: Record<string, string> = {};
  try {
    urls = JSON.parse(outputs[STACK_OUTPUTS.feedQueues]!) as Record<string, string>;
  } catch {
    problems.push(`FeedQueueUrls is not JSON: ${outputs[STACK_OUTPUTS.feedQueues]}`);
  }
  if (uploads) {
    const roles = parseJson<Record<string, string>>(outputs[STACK_OUTPUTS.uploadRoles]!) ?? {};
    for (const partner of config.partners.filter((p) => p.access?.iamPrincipals?.length)) {
      const arn = roles[partner.id];
      if (!arn) problems.push(`PartnerUploadRoleArns has no ${partner.id}`);
      else
        await attempt(`upload role of ${partner.id}`, () =>
          aws.iam.send(new GetRoleCommand({ RoleName: arn.slice(arn.lastIndexOf('/') + 1) })),
        );
    }
  }
  for (const feed of listFeeds(config)) {
    const url = urls[`${feed.partner}/${feed.id}`];
    if (!url) problems.push(`FeedQueueUrls has no ${feed.partner}/${feed.id}`);
    else
      await attempt(`queue of ${feed.partner}/${feed.id}`, () =>
        aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] })),
      );
  }
  return problems;
}

/** A deployed role and its inline policies (CDK writes every policy of this stack inline). */
interface RoleFacts {
  readonly roleArn: string;
  readonly roleName: string;
  readonly rolePolicies: { name: string; document: PolicyDocument }[];
}

interface FunctionFacts extends RoleFacts {
  readonly config: DeployedFunction;
  readonly codeSha256: string;
  readonly s3Key?: string;
}

/** The session name the rehearsal gives the function role's credentials. */
const FUNCTION_SESSION = 'rehearsal-function';

async function readRole(aws: Clients, roleArn: string): Promise<RoleFacts> {
  const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1);
  const names = (await aws.iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames ?? [];
  const rolePolicies = [];
  for (const policyName of names) {
    const doc = (await aws.iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }))).PolicyDocument ?? '{}';
    rolePolicies.push({ name: policyName, document: parsePolicy(doc) });
  }
  return { roleArn, roleName, rolePolicies };
}

async function readFunction(aws: Clients, name: string): Promise<FunctionFacts> {
  const cfg = await aws.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
  const code = await aws.lambda.send(new GetFunctionCommand({ FunctionName: name }));
  return {
    ...(await readRole(aws, cfg.Role!)),
    config: {
      name,
      handler: cfg.Handler!,
      runtime: cfg.Runtime ?? 'nodejs',
      timeoutSeconds: cfg.Timeout ?? 3,
      memoryMiB: cfg.MemorySize ?? 128,
      environment: cfg.Environment?.Variables ?? {},
    },
    codeSha256: cfg.CodeSha256 ?? '',
    s3Key: code.Code?.Location ? decodeURIComponent(code.Code.Location.slice(code.Code.Location.lastIndexOf('/') + 1)) : undefined,
  };
}

/** IAM returns policy documents URL-encoded (moto sometimes does not). */
function parsePolicy(doc: string): PolicyDocument {
  const parsed = JSON.parse(doc.trimStart().startsWith('{') ? doc : decodeURIComponent(doc)) as { Statement: Statement | Statement[] };
  return { Statement: ([] as Statement[]).concat(parsed.Statement) };
}

/**
 * The role's own credentials from STS. Gap "trust policy": moto fails (HTTP 500) evaluating a trust
 * policy whose principal is a service (`lambda.amazonaws.com`), so exactly this one AssumeRole goes
 * unauthenticated, as when the Lambda service assumes the role; every request after it is evaluated.
 */
async function roleSession(moto: MotoServer, aws: Clients, roleArn: string): Promise<SessionCredentials> {
  await moto.allowUnauthenticated(1);
  const credentials = (await aws.sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: FUNCTION_SESSION }))).Credentials!;
  return { accessKeyId: credentials.AccessKeyId!, secretAccessKey: credentials.SecretAccessKey!, sessionToken: credentials.SessionToken! };
}

function feedQueues(outputs: Record<string, string>, endpoint: string, config: PlatformConfig): PolledQueue[] {
  let urls: Record<string, string> = {};
  try {
    urls = JSON.parse(outputs[STACK_OUTPUTS.feedQueues] ?? '{}') as Record<string, string>;
  } catch {
    return [];
  }
  return listFeeds(config).flatMap((feed) => {
    const name = `${feed.partner}/${feed.id}`;
    const url = urls[name];
    if (!url) return [];
    const path = new URL(url).pathname; // /<account>/<queue>
    const [, account, queue] = path.split('/');
    return [{ feed: name, url: `${endpoint}${path}`, arn: `arn:aws:sqs:${new URL(url).hostname.split('.')[1]}:${account}:${queue}` }];
  });
}

/** A rule on the platform bus, added for the rehearsal, sends every platform event to a queue of its own. */
async function captureEvents(aws: Clients, busName: string): Promise<string> {
  const url = (await aws.sqs.send(new CreateQueueCommand({ QueueName: 'partner-etl-rehearsal-events' }))).QueueUrl!;
  const arn = (await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  await aws.events.send(
    new PutRuleCommand({
      Name: 'partner-etl-rehearsal-events',
      EventBusName: busName,
      EventPattern: JSON.stringify({ source: [EVENTS.source] }),
    }),
  );
  await aws.events.send(
    new PutTargetsCommand({ Rule: 'partner-etl-rehearsal-events', EventBusName: busName, Targets: [{ Id: 'queue', Arn: arn }] }),
  );
  return url;
}

/**
 * Uploads one object and notes its sequencer in the order of the writes, as S3 gives them (hex,
 * increasing per key), for correctMotoS3Event.
 */
async function put(aws: Clients, sequencers: Map<string, string>, bucket: string, key: string, bytes: Buffer, storageClass?: StorageClass) {
  const result = await aws.s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ...(storageClass ? { StorageClass: storageClass } : {}) }),
  );
  const versionId = result.VersionId ?? '';
  sequencers.set(`${key}\u0000${versionId}`, (sequencers.size + 1).toString(16).toUpperCase().padStart(16, '0'));
  return { key, bytes, versionId, etag: (result.ETag ?? '').replace(/"/g, '') };
}

/** The sample without its last record, and the golden output without its last line (samples map a record to a line). */
function withoutLastRecord(csv: Buffer, expected: string): { bytes?: Buffer; output: string } {
  const text = csv.toString('latin1');
  const trimmed = text.replace(/(\r\n|\n|\r)+$/, '');
  const cut = Math.max(trimmed.lastIndexOf('\n'), trimmed.lastIndexOf('\r'));
  const lines = expected.split('\n').filter((l) => l !== '');
  if (cut < 0 || lines.length < 2) return { output: '' };
  return { bytes: Buffer.from(`${trimmed.slice(0, cut)}\n`, 'latin1'), output: `${lines.slice(0, -1).join('\n')}\n` };
}

function resolveExpectedFeed(upload: Upload, config: PlatformConfig): void {
  if (upload.expect === 'unrouted' && resolveFeed(config, upload.key)) throw new Error(`${upload.key} was meant to match no feed`);
}

/** Without the function (a routing-only run): what reached each queue, taken off it. */
async function takeRouted(sqs: SQSClient, queues: readonly PolledQueue[]): Promise<Delivery[]> {
  const out: Delivery[] = [];
  for (const queue of queues) {
    for (;;) {
      const result = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      if (!result.Messages?.length) break;
      for (const m of result.Messages) {
        out.push({ feed: queue.feed, body: m.Body ?? '', receiveCount: 1, failed: false });
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: m.ReceiptHandle! }));
      }
    }
  }
  return out;
}

function eventKey(body: string): { key?: string; versionId?: string } {
  try {
    const event = JSON.parse(body) as { detail?: { object?: { key?: string; 'version-id'?: string } } };
    return { key: event.detail?.object?.key, versionId: event.detail?.object?.['version-id'] };
  } catch {
    return {};
  }
}

// ---------------------------------------------------------------------------------------------
// checks

function checkRouting(checks: Checks, uploads: readonly Upload[], deliveries: readonly Delivery[]): void {
  for (const upload of uploads) {
    const reached = new Set(
      deliveries
        .filter((d) => eventKey(d.body).key === upload.key && (eventKey(d.body).versionId ?? '') === upload.versionId)
        .map((d) => d.feed),
    );
    const expected = upload.feed ? `${upload.feed.partner}/${upload.feed.id}` : undefined;
    const problems =
      expected === undefined
        ? [...reached].map((feed) => `reached ${feed}'s queue`)
        : reached.size === 1 && reached.has(expected)
          ? []
          : [`expected only ${expected}'s queue, reached ${[...reached].join(', ') || 'no queue'}`];
    checks.check('routing', `${upload.label}: ${upload.key}`, problems, expected ? `-> ${expected}` : 'no queue');
  }
}

async function readObject(aws: Clients, bucket: string, key: string): Promise<string | undefined> {
  try {
    const result = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await result.Body!.transformToString('utf8');
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
      return undefined;
    throw err;
  }
}

async function recordOf(ledger: DynamoDbFileLedger, bucket: string, upload: Upload): Promise<FileRecord | undefined> {
  return (await ledger.history(bucket, upload.key)).find((r) => (r.versionId ?? '') === upload.versionId);
}

async function checkProcessing(
  checks: Checks,
  aws: Clients,
  ledger: DynamoDbFileLedger,
  outputs: Record<string, string>,
  uploads: readonly Upload[],
  environment: Readonly<Record<string, string>>,
): Promise<void> {
  const inbound = outputs[STACK_OUTPUTS.inboundBucket]!;
  const outputBucket = outputs[STACK_OUTPUTS.outputBucket]!;
  const rejectsBucket = outputs[STACK_OUTPUTS.rejectsBucket]!;
  const original = uploads.find((u) => u.expect === 'golden');
  for (const upload of uploads) {
    if (upload.expect === 'unrouted') continue;
    const record = await recordOf(ledger, inbound, upload);
    const problems: string[] = [];
    if (!record) {
      checks.check('processing', `${upload.label}: ledger and outputs`, [`no ledger item for ${upload.key} version ${upload.versionId}`]);
      continue;
    }
    if (upload.expect === 'poison') {
      const codes = (record.errors ?? []).map((e) => e.code);
      if (record.status !== 'FAILED' || !codes.includes('RETRIES_EXHAUSTED'))
        problems.push(`status ${record.status} ${codes.join(',')}, expected FAILED RETRIES_EXHAUSTED`);
      if (record.attempts !== MAX_RECEIVE_COUNT) problems.push(`${record.attempts} attempts, expected ${MAX_RECEIVE_COUNT}`);
      if (record.outputKey) problems.push(`a poison file published ${record.outputKey}`);
      checks.check(
        'processing',
        `${upload.label}: FAILED after ${MAX_RECEIVE_COUNT} deliveries`,
        problems,
        `${record.status} RETRIES_EXHAUSTED`,
      );
      continue;
    }
    if (upload.expect === 'duplicate') {
      const originalRecord = original ? await recordOf(ledger, inbound, original) : undefined;
      if (record.status !== 'DUPLICATE') problems.push(`status ${record.status}, expected DUPLICATE`);
      if (originalRecord && record.duplicateOf !== versionRef(originalRecord))
        problems.push(`duplicateOf ${record.duplicateOf}, expected ${versionRef(originalRecord)}`);
      checks.check('processing', `${upload.label}: DUPLICATE, nothing published`, problems, `duplicate of ${record.duplicateOf}`);
      continue;
    }
    const rejected = (upload.expectedRejects ?? '').trim() !== '';
    const expectedStatus = rejected ? 'PARTIAL' : 'SUCCEEDED';
    if (record.status !== expectedStatus)
      problems.push(`status ${record.status}, expected ${expectedStatus} (${JSON.stringify(record.errors?.slice(0, 2))})`);
    if (record.configHash !== environment.PARTNER_ETL_CONFIG_HASH)
      problems.push(`configHash ${record.configHash} is not the function's ${environment.PARTNER_ETL_CONFIG_HASH}`);
    if (record.outputKey && upload.feed && !record.outputKey.startsWith(outputPrefix(upload.feed)))
      problems.push(`output ${record.outputKey} outside ${outputPrefix(upload.feed)}`);
    const output = record.outputKey ? await readObject(aws, outputBucket, record.outputKey) : undefined;
    if (output !== upload.expectedOutput)
      problems.push(`output ${record.outputKey ?? '(none)'} differs from ${upload.golden?.expected} byte for byte`);
    const rejects = record.rejectsKey ? await readObject(aws, rejectsBucket, record.rejectsKey) : '';
    if ((rejects ?? '') !== (upload.expectedRejects ?? ''))
      problems.push(`rejects ${record.rejectsKey ?? '(none)'} differ from ${upload.golden?.expectedRejects} byte for byte`);
    const manifest = record.manifestKey ? await readObject(aws, outputBucket, record.manifestKey) : undefined;
    problems.push(...manifestProblems(manifest, record, upload, outputBucket));
    const summary = record.summaryKey ? await readObject(aws, rejectsBucket, record.summaryKey) : undefined;
    if (!summary) problems.push(`no summary ${record.summaryKey ?? ''} in the rejects bucket`);
    const lines = (upload.expectedOutput ?? '').split('\n').filter((l) => l).length;
    checks.check(
      'processing',
      `${upload.label}: ledger, output, rejects, manifest`,
      problems,
      `${record.status}, ${lines} records byte-identical`,
    );
  }
}

function manifestProblems(text: string | undefined, record: FileRecord, upload: Upload, outputBucket: string): string[] {
  if (!text) return [`no manifest ${record.manifestKey ?? ''}`];
  const m = JSON.parse(text) as Record<string, unknown>;
  const expected: Record<string, unknown> = {
    status: record.status,
    partner: record.partner,
    feed: record.feed,
    key: upload.key,
    versionId: upload.versionId,
    etag: upload.etag,
    rowsIn: record.rowsIn,
    rowsOut: record.rowsOut,
    rowsRejected: record.rowsRejected,
    configHash: record.configHash,
    schema: upload.feed?.schemaFile,
  };
  const problems = Object.entries(expected)
    .filter(([k, v]) => m[k] !== v)
    .map(([k, v]) => `manifest ${k} ${JSON.stringify(m[k])}, expected ${JSON.stringify(v)}`);
  const out = m.output as { bucket?: string; key?: string } | undefined;
  if (out?.bucket !== outputBucket || out?.key !== record.outputKey)
    problems.push(`manifest output ${JSON.stringify(out)} does not point at the output`);
  return problems;
}

async function checkEvents(checks: Checks, sqs: SQSClient, queueUrl: string, uploads: readonly Upload[]): Promise<void> {
  const events: { 'detail-type': string; detail: Record<string, unknown> }[] = [];
  for (;;) {
    const result = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (!result.Messages?.length) break;
    for (const m of result.Messages) {
      events.push(JSON.parse(m.Body ?? '{}'));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
  for (const upload of uploads) {
    if (upload.expect === 'unrouted') continue;
    const mine = events.filter((e) => e.detail.key === upload.key && e.detail.versionId === upload.versionId);
    const expectedType = upload.expect === 'poison' ? EVENTS.failed : upload.expect === 'duplicate' ? undefined : EVENTS.processed;
    const problems: string[] = [];
    if (!expectedType) {
      if (mine.length) problems.push(`${mine.length} events for a DUPLICATE, expected none`);
    } else if (mine.length !== 1 || mine[0]!['detail-type'] !== expectedType) {
      problems.push(`expected one ${expectedType}, got ${mine.map((e) => e['detail-type']).join(', ') || 'none'}`);
    } else {
      const d = mine[0]!.detail;
      if (upload.feed && (d.partner !== upload.feed.partner || d.feed !== upload.feed.id))
        problems.push(`partner/feed ${String(d.partner)}/${String(d.feed)}`);
      if (d.etag !== upload.etag) problems.push(`etag ${String(d.etag)}, expected ${upload.etag}`);
      if (upload.expect !== 'poison' && !(d.output as { key?: string } | null)?.key) problems.push('no output in the event');
    }
    checks.check(
      'events',
      `${upload.label}: ${expectedType ?? 'no event'}`,
      problems,
      expectedType ? `1 ${expectedType} on the bus` : 'none',
    );
  }
}

async function checkDeadLetters(
  checks: Checks,
  sqs: SQSClient,
  endpoint: string,
  uploads: readonly Upload[],
  config: PlatformConfig,
  template: Template,
  physical: ReadonlyMap<string, string>,
): Promise<void> {
  // The dead-letter queues are not outputs: found through the template's construct paths.
  const poison = uploads.filter((u) => u.expect === 'poison');
  for (const feed of listFeeds(config)) {
    const id = Object.entries(template.Resources).find(
      ([, r]) =>
        r.Type === 'AWS::SQS::Queue' &&
        String(r.Metadata?.['aws:cdk:path'] ?? '').endsWith(`/Feed-${feed.partner}-${feed.id}/DeadLetterQueue/Resource`),
    )?.[0];
    const name = id ? physical.get(id) : undefined;
    const problems: string[] = [];
    const keys: string[] = [];
    if (!name) problems.push(`no dead-letter queue of ${feed.partner}/${feed.id} in the stack`);
    else {
      const url = `${endpoint}/${MOTO_ACCOUNT}/${name.slice(name.lastIndexOf('/') + 1)}`;
      for (;;) {
        const result = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
        if (!result.Messages?.length) break;
        for (const m of result.Messages) {
          keys.push(eventKey(m.Body ?? '').key ?? '(not an S3 event)');
          await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle! }));
        }
      }
    }
    const expected = poison.filter((p) => p.feed === feed).map((p) => p.key);
    if (keys.sort().join() !== expected.sort().join()) problems.push(`holds [${keys.join(', ')}], expected [${expected.join(', ')}]`);
    checks.check('dead-letters', `${feed.partner}/${feed.id} dead-letter queue`, problems, expected.length ? `the poison file` : 'empty');
  }
}

async function checkCli(
  checks: Checks,
  root: string,
  endpoint: string,
  region: string,
  operator: SessionCredentials,
  stage: string,
  key: string,
  drain: () => Promise<unknown>,
  ledger: DynamoDbFileLedger,
  inbound: string,
): Promise<void> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: operator.accessKeyId,
    AWS_SECRET_ACCESS_KEY: operator.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    NO_COLOR: '1',
  };
  const run = (args: string[]) => runCli(root, args, env);
  const list = await run(['status', '--stage', stage, '--json']);
  const listed = parseJson<{ key: string }[]>(list.stdout);
  checks.check(
    'cli',
    `status --stage ${stage} --json`,
    list.code === 0 && listed?.some((r) => r.key === key) ? [] : [`exit ${list.code}: ${list.stderr.slice(0, 300)}`],
    `${listed?.length ?? 0} files`,
  );
  const one = await run(['status', key, '--stage', stage, '--json']);
  checks.check(
    'cli',
    `status ${key} --stage ${stage}`,
    one.code === 0 && one.stdout.includes(key) ? [] : [`exit ${one.code}: ${one.stderr.slice(0, 300)}`],
  );
  // reprocess takes the key's latest version: exactly that version gets one more attempt and keeps its status.
  const summary = (records: FileRecord[]) => new Map(records.map((r) => [versionRef(r), `${r.status} attempt ${r.attempts}`]));
  const before = summary(await ledger.history(inbound, key));
  const re = await run(['reprocess', key, '--stage', stage]);
  const problems = re.code === 0 ? [] : [`exit ${re.code}: ${re.stderr.slice(0, 300)}`];
  if (re.code === 0) {
    await drain();
    const after = summary(await ledger.history(inbound, key));
    const changed = [...after].filter(([ref, state]) => before.get(ref) !== state);
    const expected = changed.length === 1 && before.get(changed[0]![0])?.replace(/\d+$/, (n) => String(Number(n) + 1)) === changed[0]![1];
    if (!expected) problems.push(`versions before ${JSON.stringify([...before])}, after ${JSON.stringify([...after])}`);
  }
  checks.check('cli', `reprocess ${key} --stage ${stage}`, problems, 'one more attempt of the latest version, same status');
}

function runCli(
  root: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, REPO_CLI), ...args], { env, cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/**
 * What the roles may not do, probed with their own sessions; each feed's policy alone and each feed's
 * session policy alone (moto ignores session policies, gap 9): it reads its own prefix and nothing of
 * another feed's; each partner's upload role puts under its own feeds' prefixes only.
 */
async function checkIam(
  checks: Checks,
  aws: Clients,
  shim: S3SigningShim,
  session: SessionCredentials,
  roles: { readonly fn: FunctionFacts; readonly feedAccess?: RoleFacts },
  outputs: Record<string, string>,
  uploads: readonly Upload[],
  template: Template,
  config: PlatformConfig,
): Promise<void> {
  const region = await aws.s3.config.region();
  const inbound = outputs[STACK_OUTPUTS.inboundBucket]!;
  const rejects = outputs[STACK_OUTPUTS.rejectsBucket]!;
  const s3As = (credentials: SessionCredentials) => {
    shim.trust(credentials);
    return new S3Client({ region, endpoint: shim.endpoint, credentials, forcePathStyle: true });
  };
  const unknown = uploads.find((u) => u.expect === 'unrouted');
  const sample = uploads.find((u) => u.expect === 'golden');
  const byFeed = new Map(uploads.filter((u) => u.expect === 'golden' && u.feed).map((u) => [`${u.feed!.partner}/${u.feed!.id}`, u]));

  // The function role itself; with per-feed credentials it touches no bucket at all.
  const asFunction = s3As(session);
  if (roles.feedAccess && sample) {
    checks.check(
      'iam',
      "function role cannot read a feed's file itself",
      await denied(`GetObject ${sample.key}`, () => asFunction.send(new GetObjectCommand({ Bucket: inbound, Key: sample.key }))),
    );
  }
  await checkOutsideFeeds(checks, 'function role', asFunction, inbound, rejects, unknown, sample);
  asFunction.destroy();

  const policyOwner = roles.feedAccess ?? roles.fn;
  if (roles.feedAccess) {
    // The role as the function assumes it (no session policy: moto would ignore one, gap 9).
    const sts = new STSClient({ region, endpoint: shim.endpoint, credentials: session });
    const assumed = await sts
      .send(new AssumeRoleCommand({ RoleArn: roles.feedAccess.roleArn, RoleSessionName: 'rehearsal-probe' }))
      .then((r) => ({
        accessKeyId: r.Credentials!.AccessKeyId!,
        secretAccessKey: r.Credentials!.SecretAccessKey!,
        sessionToken: r.Credentials!.SessionToken!,
      }))
      .catch((err: unknown) => err as Error);
    sts.destroy();
    checks.check(
      'iam',
      'function role may assume the feed-access role',
      assumed instanceof Error ? [`AssumeRole ${roles.feedAccess.roleArn}: ${assumed.name} ${assumed.message}`] : [],
    );
    if (!(assumed instanceof Error)) {
      const asFeedAccess = s3As(assumed);
      await checkOutsideFeeds(checks, 'feed-access role', asFeedAccess, inbound, rejects, unknown, sample);
      asFeedAccess.destroy();
    }
  }

  // Each feed's policy on its own, and each feed's session policy, on probe roles trusted by the
  // operator (moto evaluates AWS principals naming a user in trust policies).
  const locations = roles.fn.config.environment.PLATFORM_KEY_ARN
    ? {
        inboundBucketArn: bucketArn('aws', inbound),
        outputBucketArn: bucketArn('aws', outputs[STACK_OUTPUTS.outputBucket]!),
        rejectsBucketArn: bucketArn('aws', rejects),
        keyArn: roles.fn.config.environment.PLATFORM_KEY_ARN,
      }
    : undefined;
  for (const feed of listFeeds(config)) {
    const name = `${feed.partner}/${feed.id}`;
    const own = byFeed.get(name);
    const others = [...byFeed.entries()].filter(([other]) => other !== name).map(([, u]) => u);
    // The deployed inline policy carries the template's PolicyName; the construct path ties it to the feed.
    const policy = Object.values(template.Resources).find(
      (r) =>
        r.Type === 'AWS::IAM::Policy' &&
        String(r.Metadata?.['aws:cdk:path'] ?? '').includes(`/FeedAccess-${feed.partner}-${feed.id}/Policy/`),
    );
    const document = policyOwner.rolePolicies.find((p) => p.name === policy?.Properties?.PolicyName)?.document;
    if (!own || !document) {
      checks.check('iam', `${name} policy: own prefix only`, [
        !document ? `no deployed FeedAccess policy for ${name}` : `no sample of ${name} to read`,
      ]);
      continue;
    }
    const probe = await probeRole(aws, `rehearsal-probe-${feed.partner}-${feed.id}`, document);
    checks.check(
      'iam',
      `${name} policy: reads its prefix, not another feed's`,
      await readsOnly(s3As(probe), inbound, own, others),
      `denied ${others.length} other feeds' files`,
    );
    if (locations && roles.feedAccess) {
      const sessionPolicy = JSON.parse(feedSessionPolicy(feed, locations)) as PolicyDocument;
      const probeSession = await probeRole(aws, `rehearsal-session-${feed.partner}-${feed.id}`, sessionPolicy);
      checks.check(
        'iam',
        `${name} session policy (as a role policy): reads its prefix, not another feed's`,
        await readsOnly(s3As(probeSession), inbound, own, others),
        `denied ${others.length} other feeds' files`,
      );
    }
  }
  if (roles.feedAccess) {
    checks.info(
      'iam',
      'per-feed sessions',
      "moto ignores session policies (gap 9): the function's per-file sessions hold every feed policy here; each session policy was probed as a role policy instead",
    );
  } else {
    checks.info('iam', 'one function role holds every feed policy', 'so handling one feed can read every feed prefix');
  }
  await checkUploadRoles(checks, aws, s3As, outputs, config);
}

/** What no role handling files may do: read a key of no feed, write the inbound bucket, write outside the feed locations. */
async function checkOutsideFeeds(
  checks: Checks,
  who: string,
  s3: S3Client,
  inbound: string,
  rejects: string,
  unknown: Upload | undefined,
  sample: Upload | undefined,
): Promise<void> {
  if (unknown) {
    checks.check(
      'iam',
      `${who} cannot read a key of no feed`,
      await denied(`GetObject ${unknown.key}`, () => s3.send(new GetObjectCommand({ Bucket: inbound, Key: unknown.key }))),
    );
  }
  if (!sample) return;
  checks.check(
    'iam',
    `${who} cannot write the inbound bucket`,
    await denied(`PutObject ${sample.key}`, () => s3.send(new PutObjectCommand({ Bucket: inbound, Key: sample.key, Body: 'x' }))),
  );
  checks.check(
    'iam',
    `${who} cannot write outside feed locations`,
    await denied(`PutObject ${rejects}/elsewhere/x`, () =>
      s3.send(new PutObjectCommand({ Bucket: rejects, Key: 'elsewhere/x', Body: 'x' })),
    ),
  );
}

/**
 * Reads the feed's own file both ways (the current object, s3:GetObject; the version an event names,
 * s3:GetObjectVersion), and none of the others'.
 */
async function readsOnly(s3: S3Client, inbound: string, own: Upload, others: readonly Upload[]): Promise<string[]> {
  const read = (upload: Upload) => [
    { what: `GetObject ${upload.key}`, call: () => s3.send(new GetObjectCommand({ Bucket: inbound, Key: upload.key })) },
    {
      what: `GetObject ${upload.key} version ${upload.versionId}`,
      call: () => s3.send(new GetObjectCommand({ Bucket: inbound, Key: upload.key, VersionId: upload.versionId })),
    },
  ];
  const problems: string[] = [];
  for (const { what, call } of read(own)) problems.push(...(await allowed(what, call)));
  for (const other of others) for (const { what, call } of read(other)) problems.push(...(await denied(what, call)));
  s3.destroy();
  return problems;
}

/**
 * Each partner's upload role (output PartnerUploadRoleArns): its Allow statements on a probe role put
 * under each of the partner's feed prefixes and under no other partner's, and read nothing. The role
 * itself cannot be assumed here (its trust names the partner's accounts), and its Deny statements
 * carry conditions (TLS, the encryption key) that moto treats as met, so it would deny every put
 * (gap 10); those are for a real account.
 */
async function checkUploadRoles(
  checks: Checks,
  aws: Clients,
  s3As: (credentials: SessionCredentials) => S3Client,
  outputs: Record<string, string>,
  config: PlatformConfig,
): Promise<void> {
  const raw = outputs[STACK_OUTPUTS.uploadRoles];
  if (!raw) return;
  const roles = parseJson<Record<string, string>>(raw) ?? {};
  const inbound = outputs[STACK_OUTPUTS.inboundBucket]!;
  for (const partner of config.partners) {
    const arn = roles[partner.id];
    if (!partner.access?.iamPrincipals?.length) continue;
    const name = `${partner.id} upload role`;
    if (!arn) {
      checks.check('iam', `${name}: puts under its feed prefixes only`, [`PartnerUploadRoleArns has no ${partner.id}`]);
      continue;
    }
    const role = await readRole(aws, arn);
    const allows = role.rolePolicies.flatMap((p) => p.document.Statement).filter((st) => st.Effect === 'Allow');
    const probe = s3As(await probeRole(aws, `rehearsal-upload-${partner.id}`, { Statement: allows }));
    const problems: string[] = [];
    for (const feed of partner.feeds) {
      const key = `${feed.source.prefix}rehearsal-upload${feed.source.suffix}`;
      problems.push(
        ...(await allowed(`PutObject ${key}`, () => probe.send(new PutObjectCommand({ Bucket: inbound, Key: key, Body: 'a\n' })))),
      );
      problems.push(...(await denied(`GetObject ${key}`, () => probe.send(new GetObjectCommand({ Bucket: inbound, Key: key })))));
    }
    const elsewhere = config.partners
      .filter((p) => p.id !== partner.id)
      .flatMap((p) => p.feeds.map((f) => `${f.source.prefix}rehearsal-upload.csv`));
    for (const key of [...elsewhere, `${partner.id}-elsewhere/x.csv`]) {
      problems.push(
        ...(await denied(`PutObject ${key}`, () => probe.send(new PutObjectCommand({ Bucket: inbound, Key: key, Body: 'a\n' })))),
      );
    }
    probe.destroy();
    checks.check(
      'iam',
      `${name}: puts under its feed prefixes only, reads nothing`,
      problems,
      `${partner.feeds.length} prefixes, ${elsewhere.length + 1} refused`,
    );
  }
  checks.info(
    'iam',
    'upload roles: trust and Deny conditions',
    "probed without their Deny statements (TLS, encryption key) and not assumed (the partners' accounts): gap 10, a real account",
  );
}

async function denied(what: string, call: () => Promise<unknown>): Promise<string[]> {
  try {
    const result = (await call()) as { Body?: { destroy?: () => void } };
    result.Body?.destroy?.();
    return [`${what} was allowed`];
  } catch (err) {
    return isAccessDenied(err) ? [] : [`${what}: ${(err as Error).name} ${(err as Error).message}`];
  }
}

async function allowed(what: string, call: () => Promise<unknown>): Promise<string[]> {
  try {
    const result = (await call()) as { Body?: { destroy?: () => void } };
    result.Body?.destroy?.(); // an unread body holds its socket
    return [];
  } catch (err) {
    return [`${what}: ${(err as Error).name} ${(err as Error).message}`];
  }
}

async function probeRole(aws: Clients, roleName: string, document: PolicyDocument): Promise<SessionCredentials> {
  const user = `arn:aws:iam::${MOTO_ACCOUNT}:user/rehearsal-operator`;
  const role = await aws.iam.send(
    new CreateRoleCommand({
      RoleName: roleName,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: user }, Action: 'sts:AssumeRole' }],
      }),
    }),
  );
  await aws.iam.send(
    new PutRolePolicyCommand({
      RoleName: roleName,
      PolicyName: 'feed',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', ...document }),
    }),
  );
  const credentials = (await aws.sts.send(new AssumeRoleCommand({ RoleArn: role.Role!.Arn!, RoleSessionName: 'probe' }))).Credentials!;
  return { accessKeyId: credentials.AccessKeyId!, secretAccessKey: credentials.SecretAccessKey!, sessionToken: credentials.SessionToken! };
}
