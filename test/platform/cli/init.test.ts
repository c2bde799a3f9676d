import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeConfigRoot, validFiles, VALID_PARTNER } from '../../support/config-root.js';

const REPO = join(import.meta.dirname, '../../..');
const BIN = join(REPO, 'platform/cli/partner-etl.mjs');
const SAMPLE = join(REPO, 'test/fixtures/onboarding/02-semicolon-1252-crlf-preamble.csv');

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('partner-etl init', () => {
  it('prints what it found and every file as a diff, and writes nothing without --yes', () => {
    const root = makeConfigRoot({});
    const r = cli([
      'init',
      'muller/umsatz',
      SAMPLE,
      '--root',
      root,
      '--owner',
      'finance@example.com',
      '--name',
      'Müller & Söhne',
      '--rows',
      '3',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('encoding windows-1252 (not valid UTF-8; reads as windows-1252 text), line ends CRLF');
    expect(r.stdout).toContain('header, 2 preamble lines');
    expect(r.stdout).toContain('column "Betrag" -> betrag: decimal (comma, thousands "."), required (12 values)');
    expect(r.stdout).toContain('the whole sample: 12 rows in, 12 out, 0 rejected; golden sample: the first 3 rows');
    expect(r.stdout).toContain('--- /dev/null\n+++ partners/muller.yaml\n@@ -0,0 +1,');
    expect(r.stdout).toContain('+      wahrung: "`Währung`"');
    expect(r.stdout).toContain('+++ mappings/muller/umsatz/samples/02-semicolon-1252-crlf-preamble.expected.ndjson');
    expect(r.stdout).toContain('nothing written: run again with --yes to write these 4 files');
    expect(readdirSync(join(root, 'partners'))).toEqual([]);
  });

  it('writes with --yes what validate then accepts', () => {
    const root = makeConfigRoot({});
    const r = cli(['init', 'muller/umsatz', SAMPLE, '--root', root, '--owner', 'finance@example.com', '--yes']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote 4 files; next: npx partner-etl validate --root ${root}`);
    const golden = readFileSync(join(root, 'mappings/muller/umsatz/samples/02-semicolon-1252-crlf-preamble.csv'));
    expect(golden.equals(readFileSync(SAMPLE).subarray(0, golden.length))).toBe(true); // the partner's own bytes
    const v = cli(['validate', '--root', root]);
    expect(v.stdout).toContain('1 partners, 1 feeds, 1 samples: 0 config errors, 0 failing samples');
    expect(v.code).toBe(0);
  });

  it('adds a feed to an existing partner file, keeping its comments and feeds', () => {
    const partner = `# ACME's feeds\n${VALID_PARTNER}`;
    const root = makeConfigRoot({ ...validFiles(), 'partners/acme.yaml': partner });
    const r = cli(['init', 'acme/umsatz', SAMPLE, '--root', root, '--yes']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--- partners/acme.yaml\n+++ partners/acme.yaml\n');
    const text = readFileSync(join(root, 'partners/acme.yaml'), 'utf8');
    expect(text.startsWith("# ACME's feeds\nid: acme\n")).toBe(true);
    expect(text).toContain('  - id: orders\n');
    expect(text).toContain('  - id: umsatz\n');
    expect(text).toContain('      prefix: acme/umsatz/\n');
    const v = cli(['validate', '--root', root]);
    expect(v.stdout).toContain('0 config errors, 0 failing samples');
  });

  it('refuses usage mistakes with exit 2 and an unreadable sample with exit 1', () => {
    const root = makeConfigRoot({ ...validFiles() });
    expect(cli(['init', 'acme', SAMPLE, '--root', root]).stderr).toContain('is not <partner>/<feed>');
    expect(cli(['init', 'Acme/x', SAMPLE, '--root', root]).code).toBe(2);
    expect(cli(['init', 'acme/orders', SAMPLE, '--root', root]).stderr).toContain('already has a feed "orders"');
    expect(cli(['init', 'newco/x', SAMPLE, '--root', root]).stderr).toContain('partners/newco.yaml is new: give --owner EMAIL');
    expect(cli(['init', 'acme/x', 'nope.csv', '--root', root]).code).toBe(2);
    expect(cli(['init', 'acme/x', SAMPLE, '--root', root, '--rows', '0']).code).toBe(2);
    const binary = join(makeConfigRoot({}), 'export.xlsx');
    writeFileSync(binary, Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7) % 256)));
    const r = cli(['init', 'acme/x', binary, '--root', root]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot tell the encoding: the file is not valid UTF-8, and as windows-1252 byte 0x');
  });
});
