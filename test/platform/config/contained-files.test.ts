import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findUncontainedEntries, whyNotContained } from '../../../platform/config/contained-files.js';
import { loadPlatformConfig, requireValidConfig } from '../../../platform/config/load-config.js';
import { ConfigError, formatProblem } from '../../../platform/config/problems.js';
import { buildApp } from '../../../platform/cdk/app.js';
import { makeConfigRoot, validFiles, VALID_PARTNER, VALID_SCHEMA } from '../../support/config-root.js';

const REPO = join(import.meta.dirname, '../../..');
const BIN = join(REPO, 'platform/cli/partner-etl.mjs');
const SECRET = 'SECRET-7f3a-not-for-ci-logs';

/** Files outside any config root, standing for /etc/passwd and /proc/self/environ. */
function outsideFiles(): { dir: string; schema: string; mapping: string; csv: string } {
  const dir = mkdtempSync(join(tmpdir(), 'partner-etl-outside-'));
  const files = {
    schema: JSON.stringify({ type: 'object', description: SECRET }),
    mapping: `{"id": "${SECRET}", "amount": 1}`,
    csv: `id,amount\n${SECRET},1\n`,
  };
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return { dir, schema: join(dir, 'schema'), mapping: join(dir, 'mapping'), csv: join(dir, 'csv') };
}

/** A valid root whose schema, mapping file and sample are symbolic links to files outside it. */
function rootWithLinks() {
  const outside = outsideFiles();
  const root = makeConfigRoot({
    'partners/acme.yaml': VALID_PARTNER.replace(/ {4}mapping:\n.*\n.*\n/, '    mappingFile: orders.jsonata\n'),
    'mappings/acme/orders/samples/day.expected.ndjson': '{"id":"A","amount":1}\n',
  });
  symlinkSync(outside.schema, join(root, 'mappings/acme/orders.schema.json'));
  symlinkSync(outside.mapping, join(root, 'mappings/acme/orders.jsonata'));
  symlinkSync(outside.csv, join(root, 'mappings/acme/orders/samples/day.csv'));
  return { root, outside };
}

describe('config containment', () => {
  it('reports each symbolic link under partners/ and mappings/ with its path, and loads nothing through one', () => {
    const { root, outside } = rootWithLinks();
    const { config, problems } = loadPlatformConfig(root);
    const errors = problems.filter((p) => p.severity === 'error');
    const link = 'is a symbolic link; partner config must be real files in the repository: replace the link by the file itself';
    expect(errors.map(formatProblem)).toEqual([
      `mappings/acme/orders.jsonata:1:1: ${link} (${JSON.stringify(outside.mapping)})`,
      `mappings/acme/orders.schema.json:1:1: ${link} (${JSON.stringify(outside.schema)})`,
      `mappings/acme/orders/samples/day.csv:1:1: ${link} (${JSON.stringify(outside.csv)})`,
      'partners/acme.yaml:10:18: file mappings/acme/orders.jsonata is a symbolic link; it is not read ("orders.jsonata")',
      'partners/acme.yaml:11:13: file mappings/acme/orders.schema.json is a symbolic link; it is not read ("orders.schema.json")',
    ]);
    expect(config.partners[0]!.feeds).toEqual([]);
    expect(JSON.stringify(config)).not.toContain(SECRET);
  });

  it('validate prints no byte of a linked schema, mapping file or sample, and exits 1', () => {
    const { root } = rootWithLinks();
    const r = spawnSync(process.execPath, [BIN, 'validate', '--root', root], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('mappings/acme/orders.schema.json:1:1: is a symbolic link');
    expect(`${r.stdout}${r.stderr}`).not.toContain(SECRET);
  });

  it('a linked sample of a loading feed is not run: its case fails naming the link', async () => {
    const outside = outsideFiles();
    const root = makeConfigRoot({ ...validFiles(), 'mappings/acme/orders/samples/day.expected.ndjson': `{"id":"${SECRET}","amount":1}\n` });
    symlinkSync(outside.csv, join(root, 'mappings/acme/orders/samples/day.csv'));
    const r = spawnSync(process.execPath, [BIN, 'validate', '--root', root], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('FAIL mappings/acme/orders/samples/day.csv');
    expect(r.stdout).toContain('file mappings/acme/orders/samples/day.csv is a symbolic link; it is not read');
    expect(r.stdout.replaceAll(`{"id":"${SECRET}"`, '')).not.toContain(SECRET);
  });

  it('synth refuses the same config, with the same messages', () => {
    const { root } = rootWithLinks();
    expect(() => requireValidConfig(root)).toThrow(ConfigError);
    expect(() => buildApp({ root })).toThrow(/mappings\/acme\/orders\.jsonata:1:1: is a symbolic link/);
  });

  it('refuses a linked partner file and a linked partner folder, reading neither', () => {
    const outside = outsideFiles();
    writeFileSync(join(outside.dir, 'acme.yaml'), VALID_PARTNER.replace('name: ACME', `name: ${SECRET}`));
    writeFileSync(join(outside.dir, 'orders.schema.json'), VALID_SCHEMA);
    const root = makeConfigRoot({});
    symlinkSync(join(outside.dir, 'acme.yaml'), join(root, 'partners/acme.yaml'));
    mkdirSync(join(root, 'mappings'));
    symlinkSync(outside.dir, join(root, 'mappings/acme'));
    const { config, problems } = loadPlatformConfig(root);
    expect(problems.map((p) => `${p.file}: ${p.message.split(';')[0]}`)).toEqual([
      'mappings/acme: is a symbolic link',
      'partners/acme.yaml: is a symbolic link',
    ]);
    expect(JSON.stringify(config)).not.toContain(SECRET);
  });

  it('refuses a file reached through a linked folder, even when the file itself is regular', () => {
    const outside = outsideFiles();
    writeFileSync(join(outside.dir, 'orders.schema.json'), VALID_SCHEMA);
    const root = makeConfigRoot({ 'partners/acme.yaml': VALID_PARTNER });
    mkdirSync(join(root, 'mappings'));
    symlinkSync(outside.dir, join(root, 'mappings/acme'));
    expect(whyNotContained(root, 'mappings/acme/orders.schema.json', 'mappings/acme')).toBe(
      'file mappings/acme/orders.schema.json resolves outside mappings/acme/ (through a symbolic link on the way); it is not read',
    );
    expect(whyNotContained(root, 'mappings/acme/nope.json', 'mappings/acme')).toBe('file mappings/acme/nope.json does not exist');
  });

  it('refuses a pipe where a file should be (a read would block forever)', () => {
    const root = makeConfigRoot(validFiles());
    const schema = join(root, 'mappings/acme/orders.schema.json');
    rmSync(schema);
    expect(spawnSync('mkfifo', [schema]).status).toBe(0);
    expect(findUncontainedEntries(root)).toEqual([
      { file: 'mappings/acme/orders.schema.json', message: expect.stringContaining('is not a regular file') },
    ]);
    expect(loadPlatformConfig(root).problems.map((p) => p.message)).toContain(
      'mappings/acme/orders.schema.json is not a regular file; it is not read',
    );
  });

  it('finds nothing to refuse in the repository', () => {
    expect(findUncontainedEntries(REPO)).toEqual([]);
  });
});

describe('feed prefixes', () => {
  it('refuses a prefix outside the partner id, at its line and column: partner evil cannot take acme/refunds/', () => {
    const evil = VALID_PARTNER.replace(/acme/g, 'evil').replace('prefix: evil/orders/', 'prefix: acme/refunds/');
    const root = makeConfigRoot({ ...validFiles(), 'partners/evil.yaml': evil, 'mappings/evil/orders.schema.json': VALID_SCHEMA });
    const { config, problems } = loadPlatformConfig(root);
    expect(problems.map(formatProblem)).toEqual([
      'partners/evil.yaml:7:15: source prefix must begin with the partner id: evil/ (e.g. evil/orders/); ' +
        'a partner receives files only under its own prefix ("acme/refunds/")',
    ]);
    expect(config.partners.find((p) => p.id === 'evil')!.feeds).toEqual([]);
    expect(() => buildApp({ root })).toThrow(ConfigError);
  });
});
