import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import validator from 'asl-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../platform/cdk/app.js';
import { splitDefinition } from '../../../platform/cdk/constructs/split-state-machine.js';
import { stackNameOf } from '../../../platform/cdk/partner-etl-stack.js';

const REPO = join(import.meta.dirname, '../../..');

/** The repository's config with acme/orders splitting files above 512 MiB. */
function splitRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'partner-etl-split-cdk-'));
  cpSync(join(REPO, 'partners'), join(root, 'partners'), { recursive: true });
  cpSync(join(REPO, 'mappings'), join(root, 'mappings'), { recursive: true });
  const acme = readFileSync(join(root, 'partners/acme.yaml'), 'utf8');
  writeFileSync(
    join(root, 'partners/acme.yaml'),
    acme.replace(
      '    concurrency: 10\n',
      '    concurrency: 10\n    maxFileMiB: 102400\n    split:\n      aboveMiB: 512\n      chunkMiB: 128\n',
    ),
  );
  return root;
}

/** The template's definition string with every token replaced by a plausible value, parsed. */
function definitionOf(template: Template): Record<string, unknown> {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const join = machine!.Properties.DefinitionString['Fn::Join'] as [string, unknown[]];
  const text = join[1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const token = JSON.stringify(part);
      if (token.includes('Fn::GetAtt')) return 'arn:aws:lambda:eu-west-1:123456789012:function:partner-etl-split';
      return 'partner-etl-rejects-bucket';
    })
    .join('');
  return JSON.parse(text) as Record<string, unknown>;
}

let split: Template;
beforeAll(() => {
  // The app runs cdk-nag's AwsSolutions checks at synth: an unacknowledged finding throws here.
  const app = buildApp({ root: splitRoot(), stage: 'dev', outdir: mkdtempSync(join(tmpdir(), 'cdk-out-')) });
  app.synth();
  split = Template.fromStack(app.node.findChild(stackNameOf('dev')) as Stack);
}, 180_000);

describe('the split state machine', () => {
  it('is valid Amazon States Language (asl-validator), as synthesised', () => {
    const result = validator(definitionOf(split));
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('is plan -> Distributed Map over the plan in S3 at the feed concurrency -> reduce, every failure to the failure step', () => {
    const definition = splitDefinition({ coordinator: 'arn:c', chunk: 'arn:k', rejectsBucket: 'b' }) as {
      StartAt: string;
      States: Record<string, Record<string, unknown>>;
    };
    expect(validator(definition).isValid).toBe(true);
    // and the validator is not blind: a transition to a missing state is refused
    expect(
      validator({ ...definition, States: { ...definition.States, Reduce: { ...definition.States.Reduce, Next: 'Nowhere' } } }).isValid,
    ).toBe(false);
    const s = definition.States;
    expect(definition.StartAt).toBe('Plan');
    expect(s.Plan!.Next).toBe('Chunks');
    expect(s.Chunks).toMatchObject({
      Type: 'Map',
      ItemReader: { Resource: 'arn:aws:states:::s3:getObject', Parameters: { Bucket: 'b', 'Key.$': '$.planKey' } },
      MaxConcurrencyPath: '$.concurrency',
      ToleratedFailurePercentage: 0,
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED' } },
      Next: 'Reduce',
    });
    for (const name of ['Plan', 'Chunks', 'Reduce'])
      expect(s[name]!.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' }]);
    expect(s.RecordFailure!.Next).toBe('Failed');
    expect(s.Failed!.Type).toBe('Fail');
  });

  it('is started by the transformer, and records FAILED for an execution that ends any other way', () => {
    split.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    const transformer = Object.values(split.findResources('AWS::Lambda::Function')).find(
      (f) => f.Properties.Environment?.Variables?.SPLIT_STATE_MACHINE_ARN,
    );
    expect(transformer).toBeDefined();
    const rule = Object.values(split.findResources('AWS::Events::Rule')).find(
      (r) => r.Properties.EventPattern.source?.[0] === 'aws.states',
    );
    expect(rule!.Properties.EventPattern.detail.status).toEqual(['FAILED', 'TIMED_OUT', 'ABORTED']);
    expect(rule!.Properties.Targets[0].DeadLetterConfig).toBeDefined();
  });

  it('gives the chunk function objects only: no ledger, no bus, only the split feed prefixes', () => {
    const policies = Object.entries(split.findResources('AWS::IAM::Policy'));
    const chunk = policies.find(([id]) => id.startsWith('SplitChunkRole'));
    const text = JSON.stringify(chunk![1]);
    expect(text).not.toMatch(/dynamodb:|events:PutEvents|s3:DeleteObject|s3:ListBucket/);
    expect(text).toContain('/acme/orders/*');
    expect(text).not.toContain('globex');
  });

  it('uses the platform key only through the services each split function calls, never ReEncrypt', () => {
    const policies = Object.entries(split.findResources('AWS::IAM::Policy'));
    const kmsOf = (prefix: string) =>
      policies
        .filter(([id]) => id.startsWith(prefix))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Condition?: unknown }[])
        .filter((st) => JSON.stringify(st.Action).includes('kms:'));
    const services = (prefix: string) => JSON.stringify(kmsOf(prefix).map((st) => st.Condition)).match(/(s3|dynamodb|events)\./g);
    expect(services('SplitChunkRole')).toEqual(['s3.']);
    expect(services('SplitCoordinatorRole')).toEqual(['s3.', 'dynamodb.', 'events.']);
    for (const st of [...kmsOf('SplitChunkRole'), ...kmsOf('SplitCoordinatorRole')]) {
      expect([st.Action].flat().filter((a) => a.includes('ReEncrypt') || a.endsWith('*'))).toEqual([]);
    }
  });

  it('is not there when no feed splits', () => {
    const app = buildApp({ root: REPO, stage: 'dev', outdir: mkdtempSync(join(tmpdir(), 'cdk-out-')) });
    const template = Template.fromStack(app.node.findChild(stackNameOf('dev')) as Stack);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
  }, 120_000);
});
