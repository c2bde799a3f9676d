import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Template } from '../../../platform/rehearsal/emulator-gaps.js';
import { MOTO_ACCOUNT } from '../../../platform/rehearsal/moto-server.js';
import type { CheckResult } from '../../../platform/rehearsal/report.js';
import { rehearse, type RehearsalReport } from '../../../platform/rehearsal/rehearsal.js';
import { synthesiseStage, type SynthesisedStage } from '../../../platform/rehearsal/synth.js';

/**
 * The deployment rehearsal on moto_server (vitest.config.ts includes this file only when moto_server
 * is on PATH, and says so when it is not). One synthesis serves the full rehearsal and the
 * deliberate breaks; each break deploys its broken template into a moto of its own and runs only the
 * checks it affects.
 */
const REPO = join(import.meta.dirname, '../../..');
const REGION = 'eu-west-1';
let outdir: string;
let synthesised: SynthesisedStage;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'partner-etl-rehearsal-test-'));
  synthesised = synthesiseStage({ root: REPO, stage: 'dev', outdir, account: MOTO_ACCOUNT, region: REGION });
}, 180_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const failures = (report: RehearsalReport) => report.results.filter((r) => r.status === 'FAIL');
const describeFailures = (results: readonly CheckResult[]) => results.map((r) => `${r.group} ${r.name}: ${r.detail}`).join('\n');

/** The resource of the template whose construct path ends so. */
function resourceAt(template: Template, pathEnd: string) {
  const found = Object.values(template.Resources).find((r) => String(r.Metadata?.['aws:cdk:path'] ?? '').endsWith(pathEnd));
  if (!found) throw new Error(`no resource at ${pathEnd}`);
  return found;
}

/** Removes one action from the ReadFeedPrefix statement of a feed's access policy. */
function withoutReadAction(feed: string, action: string) {
  return (template: Template) => {
    const policy = resourceAt(template, `/FeedAccess-${feed.replace('/', '-')}/Policy/Resource`);
    const statements = (policy.Properties!.PolicyDocument as { Statement: { Sid?: string; Action: string | string[] }[] }).Statement;
    const read = statements.find((s) => s.Sid === 'ReadFeedPrefix')!;
    const actions = ([] as string[]).concat(read.Action);
    expect(actions).toContain(action);
    read.Action = actions.filter((a) => a !== action);
  };
}

describe('the rehearsal on moto_server', () => {
  it('deploys the synthesised stack and passes every check', async () => {
    const report = await rehearse({ root: REPO, region: REGION, synthesised });
    expect(describeFailures(failures(report))).toBe('');
    const groups = new Set(report.results.filter((r) => r.status === 'PASS').map((r) => r.group));
    expect([...groups].sort()).toEqual(['bundle', 'cli', 'dead-letters', 'deploy', 'events', 'iam', 'processing', 'routing']);
  }, 240_000);
});

describe('a deliberate break is caught', () => {
  it('fails when the function environment lacks the table name', async () => {
    const report = await rehearse({
      root: REPO,
      region: REGION,
      synthesised,
      groups: ['deploy', 'bundle'],
      breakTemplate: (template) => {
        const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function')!;
        const variables = (fn.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
        expect(variables.LEDGER_TABLE).toBeDefined();
        delete variables.LEDGER_TABLE;
      },
    });
    expect(failures(report).map((r) => `${r.name}: ${r.detail}`)).toEqual([
      'bundle loads with the deployed environment: Error: environment variable LEDGER_TABLE is not set',
    ]);
  }, 120_000);

  it('fails when a rule pattern has a typo in the prefix', async () => {
    const report = await rehearse({
      root: REPO,
      region: REGION,
      synthesised,
      groups: ['deploy', 'routing'],
      feeds: ['globex/shipments'],
      breakTemplate: (template) => {
        const rule = resourceAt(template, '/Feed-globex-shipments/Rule/Resource');
        const key = (rule.Properties!.EventPattern as { detail: { object: { key: { wildcard: string }[] } } }).detail.object.key[0]!;
        expect(key.wildcard).toBe('globex/shipments/*.txt');
        key.wildcard = 'globex/shipmets/*.txt';
      },
    });
    const failed = failures(report);
    expect(failed.map((r) => r.group)).toEqual(['routing', 'routing']); // the sample and the poison file of that feed
    expect(failed[0]!.detail).toBe("expected only globex/shipments's queue, reached no queue");
  }, 120_000);

  it('fails when the role loses s3:GetObject on one feed', async () => {
    const report = await rehearse({
      root: REPO,
      region: REGION,
      synthesised,
      groups: ['deploy', 'iam'],
      breakTemplate: withoutReadAction('muller/invoices', 's3:GetObject'),
    });
    const failed = failures(report);
    expect(failed.map((r) => r.name)).toEqual(["muller/invoices policy: reads its prefix, not another feed's"]);
    expect(failed[0]!.detail).toMatch(/^GetObject muller\/invoices\/2026-11\.csv: AccessDenied/);
  }, 120_000);

  it('fails when the role loses s3:GetObjectVersion, the read the function makes, on one feed', async () => {
    const report = await rehearse({
      root: REPO,
      region: REGION,
      synthesised,
      groups: ['deploy', 'bundle', 'processing'],
      feeds: ['muller/invoices'],
      breakTemplate: withoutReadAction('muller/invoices', 's3:GetObjectVersion'),
    });
    // The sample fails, and with it the same bytes uploaded again and the new version of that key.
    const failed = failures(report);
    expect(failed.map((r) => r.name)).toEqual([
      'sample mappings/muller/invoices/samples/2026-11.csv: ledger, output, rejects, manifest',
      'same bytes again: DUPLICATE, nothing published',
      'new version: ledger, output, rejects, manifest',
    ]);
    expect(failed[0]!.detail).toMatch(/^status FAILED, expected SUCCEEDED .*RETRIES_EXHAUSTED.*AccessDenied/);
  }, 120_000);

  it("fails when the feed-access role's trust no longer names the function role", async () => {
    const report = await rehearse({
      root: REPO,
      region: REGION,
      synthesised,
      groups: ['deploy', 'bundle', 'processing'],
      feeds: ['muller/invoices'],
      breakTemplate: (template) => {
        const role = resourceAt(template, '/Transformer/FeedAccessRole/Resource');
        const trust = role.Properties!.AssumeRolePolicyDocument as { Statement: { Principal: { AWS: unknown } }[] };
        expect(trust.Statement).toHaveLength(1);
        trust.Statement[0]!.Principal.AWS = `arn:aws:iam::${MOTO_ACCOUNT}:root`;
      },
    });
    const failed = failures(report);
    expect(failed.map((r) => r.name)).toContain('sample mappings/muller/invoices/samples/2026-11.csv: ledger, output, rejects, manifest');
    expect(failed[0]!.detail).toMatch(/RETRIES_EXHAUSTED.*not authorized to perform: sts:AssumeRole/);
  }, 120_000);
});
