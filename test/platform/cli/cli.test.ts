import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeConfigRoot, validFiles, VALID_PARTNER } from '../../support/config-root.js';

const REPO = join(import.meta.dirname, '../../..');
const BIN = join(REPO, 'platform/cli/partner-etl.mjs');

function cli(args: string[], cwd = REPO) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'partner-etl-cli-'));

describe('partner-etl validate', () => {
  it('exits 0 on the repository and lists every sample it ran', () => {
    const r = cli(['validate']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ok   mappings/acme/orders/samples/with-bad-rows.csv -> PARTIAL (16 in, 12 out, 4 rejected)');
    expect(r.stdout).toContain('3 partners, 4 feeds, 5 samples: 0 config errors, 0 failing samples');
  });

  it('exits 1 listing every problem of a broken config folder given with --root', () => {
    const root = makeConfigRoot({
      ...validFiles(),
      'partners/acme.yaml': VALID_PARTNER.replace('$number(amount)', '$number(').replace('dataset: orders', 'dataset: 1x'),
    });
    const r = cli(['validate', '--root', root]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('partners/acme.yaml:12:22: JSONata: Expected ")" before end of expression [S0203] ("$number(")');
    expect(r.stdout).toContain('partners/acme.yaml:15:16: feeds[0].output.dataset must be lowercase letters');
    expect(r.stdout).toContain('2 config errors');
  });

  it('warns about a feed without golden samples, at the feed, and still exits 0', () => {
    const r = cli(['validate', '--root', makeConfigRoot(validFiles())]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'partners/acme.yaml:5:9: warning: feed acme/orders has no golden sample: add mappings/acme/orders/samples/<name>.csv ' +
        '(partner-etl validate --update writes its expected output)',
    );
  });

  it('fails a sample whose header lacks a column the mapping reads, naming the closest header name', () => {
    const root = makeConfigRoot({
      ...validFiles(),
      'partners/acme.yaml': VALID_PARTNER.replace('    csv:\n      columns: [id, amount]\n', ''),
      'mappings/acme/orders/samples/day.csv': 'id,amount_eur\nA,1\n',
      'mappings/acme/orders/samples/day.expected.ndjson': '{"id":"A","amount":1}\n',
    });
    const r = cli(['validate', '--root', root]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'the sample FAILED (MISSING_COLUMNS: the header lacks column "amount" (read by the mapping; closest header name: "amount_eur")',
    );
  });

  it('--update shows the diff, then writes the expected output and rejects; the next validate passes', () => {
    const root = makeConfigRoot({
      ...validFiles(),
      'partners/acme.yaml': VALID_PARTNER.replace(
        'output:\n      dataset: orders\n',
        'output:\n      dataset: orders\n    errors:\n      maxRejectedPercent: 50\n',
      ),
      'mappings/acme/orders/samples/new.csv': 'id,amount\nA,1\n',
      'mappings/acme/orders/samples/old.csv': 'id,amount\nA,1\nB,x\nC,3\n',
      'mappings/acme/orders/samples/old.expected.ndjson': '{"id":"A","amount":1}\n{"id":"C","amount":4}\n',
      'mappings/acme/orders/samples/bad.csv': 'id,amount\nA,x\n',
    });
    const r = cli(['validate', '--update', '--root', root]);
    expect(r.code).toBe(1); // bad.csv FAILS and is never recorded
    expect(r.stdout).toContain(
      [
        'upd  mappings/acme/orders/samples/new.csv -> SUCCEEDED (1 in, 1 out, 0 rejected)',
        '--- /dev/null',
        '+++ mappings/acme/orders/samples/new.expected.ndjson',
        '@@ -0,0 +1,1 @@',
        '+{"id":"A","amount":1}',
        'upd  mappings/acme/orders/samples/old.csv -> PARTIAL (3 in, 2 out, 1 rejected)',
        '--- mappings/acme/orders/samples/old.expected.ndjson',
        '+++ mappings/acme/orders/samples/old.expected.ndjson',
        '@@ -1,2 +1,2 @@',
        ' {"id":"A","amount":1}',
        '-{"id":"C","amount":4}',
        '+{"id":"C","amount":3}',
        '--- /dev/null',
        '+++ mappings/acme/orders/samples/old.expected-rejects.ndjson',
      ].join('\n'),
    );
    expect(r.stdout).toContain('FAIL mappings/acme/orders/samples/bad.csv');
    expect(r.stdout).toContain('not updated: a sample must end SUCCEEDED or PARTIAL');
    expect(r.stdout).toContain('3 samples: 0 config errors, 1 failing sample, 2 updated');
    expect(readFileSync(join(root, 'mappings/acme/orders/samples/old.expected.ndjson'), 'utf8')).toBe(
      '{"id":"A","amount":1}\n{"id":"C","amount":3}\n',
    );
    expect(readFileSync(join(root, 'mappings/acme/orders/samples/old.expected-rejects.ndjson'), 'utf8')).toContain(
      '"code":"MAPPING_ERROR"',
    );
    expect(existsSync(join(root, 'mappings/acme/orders/samples/bad.expected.ndjson'))).toBe(false);

    rmSync(join(root, 'mappings/acme/orders/samples/bad.csv'));
    const again = cli(['validate', '--root', root]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('2 samples: 0 config errors, 0 failing samples');
  });

  it('--update never writes through a symbolic link', () => {
    const outside = join(tmp(), 'victim.txt');
    writeFileSync(outside, 'keep me');
    const root = makeConfigRoot({ ...validFiles(), 'mappings/acme/orders/samples/s.csv': 'id,amount\nA,1\n' });
    symlinkSync(outside, join(root, 'mappings/acme/orders/samples/s.expected.ndjson'));
    const r = cli(['validate', '--update', '--root', root]);
    expect(r.code).not.toBe(0);
    // refused when the config is loaded, before any sample is run or written
    expect(r.stdout).toContain('mappings/acme/orders/samples/s.expected.ndjson:1:1: is a symbolic link');
    expect(r.stdout).toContain('file mappings/acme/orders/samples/s.expected.ndjson is a symbolic link; it is not read');
    expect(readFileSync(outside, 'utf8')).toBe('keep me');
  });

  it('exits 2 on a usage error', () => {
    expect(cli(['validate', '--bogus']).code).toBe(2);
    expect(cli(['frobnicate']).code).toBe(2);
  });
});

describe('partner-etl --version', () => {
  it('prints the version and exits 0', () => {
    const r = cli(['--version']);
    expect(r.code).toBe(0);
    const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
    expect(r.stdout).toBe(`partner-etl ${version} (Node.js ${process.version})\n`);
  });
});

describe('partner-etl transform', () => {
  it('writes output, rejects and summary of a PARTIAL file and exits 0', () => {
    const dir = tmp();
    const r = cli([
      'transform',
      '--feed',
      'acme/orders',
      'mappings/acme/orders/samples/with-bad-rows.csv',
      '--out',
      join(dir, 'out.ndjson'),
      '--rejects',
      join(dir, 'rejects.ndjson'),
      '--summary',
      join(dir, 'summary.json'),
    ]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'out.ndjson'), 'utf8')).toBe(
      readFileSync(join(REPO, 'mappings/acme/orders/samples/with-bad-rows.expected.ndjson'), 'utf8'),
    );
    expect(readFileSync(join(dir, 'rejects.ndjson'), 'utf8')).toBe(
      readFileSync(join(REPO, 'mappings/acme/orders/samples/with-bad-rows.expected-rejects.ndjson'), 'utf8'),
    );
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(Object.keys(summary)).toEqual([
      'status',
      'partner',
      'feed',
      'key',
      'rowsIn',
      'rowsOut',
      'rowsRejected',
      'errors',
      'durationMs',
      'mappingFallbacks',
    ]);
    // `$number("abc")` is left to the interpreter, which rejects the row
    expect(summary.mappingFallbacks).toEqual([{ field: '/amount', deferred: 1, errors: 0, reason: 'not a number' }]);
    expect(summary).toMatchObject({ status: 'PARTIAL', partner: 'acme', feed: 'orders', rowsIn: 16, rowsOut: 12, rowsRejected: 4 });
    expect(summary.errors).toHaveLength(4);
    expect(r.stderr).toContain('PARTIAL acme/orders acme/orders/with-bad-rows.csv: 16 rows in, 12 out, 4 rejected');
    expect(r.stderr).toContain('acme/orders/with-bad-rows.csv line 4: /amount must be >= 0');
  });

  it('names, in the summary and on stderr, an expression that fell back to the interpreter', () => {
    const root = makeConfigRoot({
      ...validFiles(),
      'partners/acme.yaml': VALID_PARTNER.replace('$number(amount)', '$number(amount) + id'),
    });
    const dir = tmp();
    writeFileSync(join(dir, 'day.csv'), 'id,amount\nA,1\n');
    const r = cli(['transform', '--root', root, '--feed', 'acme/orders', join(dir, 'day.csv'), '--summary', join(dir, 'summary.json')]);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(summary.mappingFallbacks).toEqual([{ field: '/amount', deferred: 1, errors: 0, reason: 'arithmetic on a non-number' }]);
    expect(r.stderr).toContain('  mapping /amount: 1 row on the interpreter (arithmetic on a non-number)');
  });

  it('prints records to stdout when no --out is given', () => {
    const r = cli([
      'transform',
      '--feed',
      'globex/shipments',
      'mappings/globex/shipments/samples/2026-11-27T10.csv',
      '--key',
      'globex/shipments/2026-11-27T10.txt',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(REPO, 'mappings/globex/shipments/samples/2026-11-27T10.expected.ndjson'), 'utf8'));
  });

  it('publishes no output for a FAILED file, explains why, and exits 1', () => {
    const dir = tmp();
    const input = join(dir, 'in.csv');
    writeFileSync(input, 'order_id,amount\nA-1,1\n');
    const r = cli(['transform', '--feed', 'acme/orders', input, '--out', join(dir, 'out.ndjson'), '--summary', join(dir, 's.json')]);
    expect(r.code).toBe(1);
    expect(existsSync(join(dir, 'out.ndjson'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['in.csv', 's.json']);
    const summary = JSON.parse(readFileSync(join(dir, 's.json'), 'utf8'));
    expect(summary).toMatchObject({ status: 'FAILED', rowsIn: 0 });
    expect(summary.errors[0]).toMatchObject({ code: 'MISSING_COLUMNS', line: 1 });
    expect(r.stdout).toBe('');
  });

  it('refuses a UTF-16 file without a byte-order mark with ENCODING_ERROR and a hint, printing no NUL byte', () => {
    const dir = tmp();
    const input = join(dir, 'utf16.csv');
    writeFileSync(input, Buffer.from('id,amount\nA,1\nB,2\n', 'utf16le'));
    const r = cli(['transform', '--root', makeConfigRoot(validFiles()), '--feed', 'acme/orders', input]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('looks like UTF-16LE without a byte-order mark');
    expect(r.stderr).toContain('set csv.encoding: utf-16le');
    expect(r.stderr).toContain('[ENCODING_ERROR]');
    expect(r.stderr).not.toContain('\u0000');
  });

  it('escapes control characters of file names, headers and cells on the terminal', () => {
    const dir = tmp();
    const input = join(dir, 'x\u001b[2J.csv');
    writeFileSync(input, 'id\u0007,amount\u202e\nA,1\n');
    const r = cli(['transform', '--root', makeConfigRoot(validFiles()), '--feed', 'acme/orders', input]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('acme/orders/x\\u001b[2J.csv');
    expect(r.stderr).toContain('closest header name: "id\\u0007"');
    for (const c of ['\u0007', '\u001b', '\u202e']) expect(r.stderr).not.toContain(c);
  });

  it('exits 2 for an unknown feed or a missing file', () => {
    const unknown = cli(['transform', '--feed', 'acme/nope', 'mappings/acme/orders/samples/2026-11-27.csv']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no valid feed "acme/nope"');
    expect(unknown.stderr).toContain('known feeds: acme/orders, acme/customers, globex/shipments, muller/invoices');
    expect(cli(['transform', '--feed', 'acme/orders', 'nope.csv']).code).toBe(2);
    expect(cli(['transform', 'x.csv']).code).toBe(2);
  });

  it('runs a feed from another config folder given with --root', () => {
    const root = makeConfigRoot(validFiles());
    const dir = tmp();
    writeFileSync(join(dir, 'f.csv'), 'id,amount\nA,1.5\n');
    const r = cli(['transform', '--root', root, '--feed', 'acme/orders', join(dir, 'f.csv')], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('{"id":"A","amount":1.5}\n');
  });
});
