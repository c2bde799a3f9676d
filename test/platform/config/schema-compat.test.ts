import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifySchemaChanges, missingBump, parseSemVer, schemaVersion } from '../../../platform/config/schema-compat.js';
import { outputKeys } from '../../../lambdas/transformer/output-keys.js';
import { manifestSchema } from '../../../lambdas/transformer/process-object.js';
import { makeConfigRoot, validFiles } from '../../support/config-root.js';
import { makeFeed } from '../../support/engine.js';

const REPO = join(import.meta.dirname, '../../..');
const BIN = join(REPO, 'platform/cli/partner-etl.mjs');

const BASE = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  'x-version': '1.2.0',
  type: 'object',
  required: ['id'],
  properties: {
    id: { type: 'string' },
    amount: { type: ['number', 'null'] },
    status: { type: 'string', enum: ['open', 'paid', 'void'] },
    customer: { type: 'object', properties: { email: { type: 'string' } } },
  },
};
const edit = (change: (s: typeof BASE & Record<string, unknown>) => void) => {
  const copy = structuredClone(BASE) as typeof BASE & Record<string, unknown>;
  change(copy);
  return copy;
};
const kinds = (head: unknown) => classifySchemaChanges(BASE, head).map((c) => `${c.kind} ${c.field}: ${c.description}`);

describe('schema changes, classified', () => {
  it('breaking: a field removed, a type narrowed, a new required field, an enum value removed', () => {
    expect(kinds(edit((s) => delete (s.properties as Record<string, unknown>).amount))).toEqual(['breaking /amount: field removed']);
    expect(kinds(edit((s) => (s.properties.amount.type = ['number'])))).toEqual(['breaking /amount: type narrowed: number|null -> number']);
    const requiredNote = edit((s) => {
      (s.properties as Record<string, unknown>).note = { type: 'string' };
      s.required.push('note');
    });
    expect(kinds(requiredNote)).toEqual(['breaking /note: new required field']);
    expect(kinds(edit((s) => (s.properties.status.enum = ['open', 'paid'])))).toEqual(['breaking /status: enum value removed: "void"']);
    expect(kinds(edit((s) => delete (s.properties.customer.properties as Record<string, unknown>).email))).toEqual([
      'breaking /customer/email: field removed',
    ]);
    expect(kinds(edit((s) => s.required.push('amount')))).toEqual(['breaking /amount: field now required']);
  });

  it('compatible: an optional field added, a type widened, an enum value added; annotations are no change', () => {
    expect(kinds(edit((s) => ((s.properties as Record<string, unknown>).note = { type: 'string' })))).toEqual([
      'compatible /note: optional field added',
    ]);
    expect(kinds(edit((s) => (s.properties.status.enum = ['open', 'paid', 'void', 'late'])))).toEqual([
      'compatible /status: enum value added: "late"',
    ]);
    expect(kinds(edit((s) => ((s as Record<string, unknown>).description = 'changed words')))).toEqual([]);
  });

  it('asks a major bump for a breaking change and a minor one for a compatible change', () => {
    const v = (t: string) => parseSemVer(t)!;
    const breaking = classifySchemaChanges(
      BASE,
      edit((s) => delete (s.properties as Record<string, unknown>).amount),
    );
    expect(missingBump(v('1.2.0'), v('1.3.0'), breaking)).toBe('a breaking change needs a major bump (1.2.0 -> 1.3.0; at least 2.0.0)');
    expect(missingBump(v('1.2.0'), v('2.0.0'), breaking)).toBeUndefined();
    const compatible = classifySchemaChanges(
      BASE,
      edit((s) => ((s.properties as Record<string, unknown>).note = { type: 'string' })),
    );
    expect(missingBump(v('1.2.0'), v('1.2.1'), compatible)).toBe('a compatible change needs a minor bump (1.2.0 -> 1.2.1; at least 1.3.0)');
    expect(missingBump(v('1.2.0'), v('1.3.0'), compatible)).toBeUndefined();
    expect(missingBump(v('1.2.0'), v('1.1.0'), [])).toBe('the version went down (1.2.0 -> 1.1.0)');
  });

  it('reads the version from x-version, else from the $id suffix, and refuses a malformed one', () => {
    expect(schemaVersion({ 'x-version': '2.1.0' }).version?.text).toBe('2.1.0');
    expect(schemaVersion({ $id: 'https://example.com/schemas/orders/v3.0.1' }).version?.text).toBe('3.0.1');
    expect(schemaVersion({ $id: 'https://example.com/orders.schema.json' }).version).toBeUndefined();
    expect(schemaVersion({ 'x-version': '1.0' }).problem).toContain('x-version must be a semantic version');
  });
});

describe('partner-etl validate --base', () => {
  const git = (cwd: string, ...args: string[]) => {
    const r = spawnSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', '-c', 'commit.gpgsign=false', ...args], {
      cwd,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
  };
  const validate = (root: string, ...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, 'validate', '--root', root, ...args], { encoding: 'utf8', timeout: 120_000 });
    return { code: r.status, out: r.stdout + r.stderr };
  };
  const schema = (version: string, properties: Record<string, unknown>, required: string[]) =>
    JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', 'x-version': version, type: 'object', required, properties });

  it('fails a breaking change without a major bump, passes it with the bump, and a compatible change with a minor one', () => {
    const root = makeConfigRoot({
      ...validFiles(),
      'mappings/acme/orders.schema.json': schema('1.0.0', { id: { type: 'string' }, amount: { type: 'number' } }, ['id', 'amount']),
    });
    git(root, 'init', '-q', '-b', 'main');
    git(root, 'add', '-A');
    git(root, 'commit', '-q', '-m', 'base');
    const file = join(root, 'mappings/acme/orders.schema.json');

    // amount becomes an integer: a type narrowed, still 1.x
    writeFileSync(file, schema('1.1.0', { id: { type: 'string' }, amount: { type: 'integer' } }, ['id', 'amount']));
    const refused = validate(root, '--base', 'main');
    expect(refused.code).toBe(1);
    expect(refused.out).toContain(
      'FAIL mappings/acme/orders.schema.json (acme/orders) 1.0.0 -> 1.1.0: a breaking change needs a major bump (1.0.0 -> 1.1.0; at least 2.0.0)',
    );
    expect(refused.out).toContain('breaking   /amount: type narrowed: number -> integer');

    writeFileSync(file, schema('2.0.0', { id: { type: 'string' }, amount: { type: 'integer' } }, ['id', 'amount']));
    const bumped = validate(root, '--base', 'main');
    expect(bumped.out).toContain('ok   mappings/acme/orders.schema.json (acme/orders) 1.0.0 -> 2.0.0');
    expect(bumped.code).toBe(0);

    writeFileSync(
      file,
      schema('1.0.1', { id: { type: 'string' }, amount: { type: 'number' }, note: { type: 'string' } }, ['id', 'amount']),
    );
    expect(validate(root, '--base', 'main').code).toBe(1);
    writeFileSync(
      file,
      schema('1.1.0', { id: { type: 'string' }, amount: { type: 'number' }, note: { type: 'string' } }, ['id', 'amount']),
    );
    const minor = validate(root, '--base', 'main');
    expect(minor.out).toContain('compatible /note: optional field added');
    expect(minor.code).toBe(0);

    const unknown = validate(root, '--base', 'no-such-ref');
    expect(unknown.code).toBe(2);
    expect(unknown.out).toContain('--base no-such-ref is not a commit in this repository');
  }, 120_000);
});

describe('the version in the output contract', () => {
  it('puts the major into the output and rejects keys and the manifest, and nothing for a schema without a version', () => {
    const day = new Date('2026-11-27T10:00:00Z');
    const v2 = makeFeed({ schemaVersion: '2.1.0' });
    const keys = outputKeys(v2, 'test/feed/a.csv', 'v1', day);
    expect(keys.output).toBe('test/partner=test/feed=feed/v=2/date=2026-11-27/a.v1.ndjson');
    expect(keys.rejectsCsv).toBe('test/feed/v=2/date=2026-11-27/a.v1.rejects.csv');
    expect(manifestSchema(v2)).toEqual({ schema: 'any.schema.json', schemaVersion: '2.1.0', schemaMajor: 2 });
    expect(outputKeys(makeFeed(), 'test/feed/a.csv', 'v1', day).output).toBe('test/partner=test/feed=feed/date=2026-11-27/a.v1.ndjson');
    expect(manifestSchema(makeFeed())).toEqual({ schema: 'any.schema.json' });
  });

  it('is checked on every pull request: the workflow runs validate --base origin/main with the history fetched', () => {
    const workflow = readFileSync(join(REPO, '.github/workflows/pull-request.yml'), 'utf8');
    expect(workflow).toContain('fetch-depth: 0');
    expect(workflow).toContain('run: npx partner-etl validate --base origin/main');
  });
});
