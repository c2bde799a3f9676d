import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '../../..');
const BIN = join(REPO, 'platform/cli/partner-etl.mjs');
const SAMPLE = join(REPO, 'mappings/acme/orders/samples/with-bad-rows.csv');

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, NO_COLOR: '' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The command on a pseudo-terminal (util-linux `script`), as a person runs it. */
function onTerminal(args: string[]) {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qec', command, '/dev/null'], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, NO_COLOR: '' },
  });
  return { code: r.status, stdout: r.stdout.replace(/\r\n/g, '\n') };
}

describe('partner-etl preview', () => {
  it('piped: plain text, the first --rows rows, rejected ones with code and reason, every expression compiled', () => {
    const r = cli(['preview', '--feed', 'acme/orders', SAMPLE, '--rows', '4']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('\x1b');
    expect(r.stdout).toMatch(/^input \(4 rows, more in the file\)\n {2}line {2}order_id {2}order_date/);
    expect(r.stdout).toContain('  3     MAPPING_ERROR     /amount: Unable to cast value to a number: "abc" [D3030]\n');
    expect(r.stdout).toContain(
      '  2     ok                A-2001   2026-11-26  10      EUR       ann@example.com  Ann            false    acme/orders/with-bad-rows.csv  2\n',
    );
    expect(r.stdout).toContain('\nexpressions\n  orderId         compiled\n');
    expect(r.stdout).toContain('  amount          compiled; 1 row handed to the interpreter (not a number)\n');
  });

  it('on a terminal: the rejected rows in red', () => {
    const r = onTerminal(['preview', '--feed', 'acme/orders', SAMPLE, '--rows', '3']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  \x1b[31m3     MAPPING_ERROR     /amount: Unable to cast value to a number: "abc" [D3030]\x1b[0m\n');
    expect(r.stdout).toContain('\n  2     ok ');
  });

  it('exit 1 when the file fails before its rows, 2 for an unknown feed or file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'partner-etl-preview-cli-'));
    writeFileSync(join(dir, 'short.csv'), 'order_id\nA-1\n');
    const failed = cli(['preview', '--feed', 'acme/orders', join(dir, 'short.csv')]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^the file fails before its rows: .*\[MISSING_COLUMNS\]/);
    expect(cli(['preview', '--feed', 'acme/nope', SAMPLE]).code).toBe(2);
    expect(cli(['preview', '--feed', 'acme/orders', join(dir, 'missing.csv')]).code).toBe(2);
  });
});
