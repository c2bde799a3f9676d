import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeConfigRoot, validFiles } from '../../support/config-root.js';

const REPO = join(import.meta.dirname, '../../..');
const BIN = join(REPO, 'platform/cli/partner-etl.mjs');

function cli(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('partner-etl drift <key>', () => {
  it('prints the patch for a drifted file of the local platform; applied, the same file transforms with no drift', () => {
    const root = makeConfigRoot(validFiles()); // acme/orders: columns [id, amount], mapping id: id
    const dir = mkdtempSync(join(tmpdir(), 'partner-etl-drift-cli-'));
    mkdirSync(join(dir, 'inbox/acme/orders'), { recursive: true });
    const drifted = 'ID,amount,Note\nA,1,hello\n';
    writeFileSync(join(dir, 'inbox/acme/orders/drifted.csv'), drifted);
    writeFileSync(join(dir, 'inbox/acme/orders/fine.csv'), 'id,amount\nA,1\n');
    writeFileSync(join(dir, 'drifted.csv'), drifted);

    const dev = cli(['dev', '--once', '--root', root], dir);
    expect(dev.code).toBe(1); // the renamed declared column fails the file, as before
    expect(dev.stdout + dev.stderr).toContain(
      'HEADER_DRIFT: the header changed; partner-etl drift acme/orders/drifted.csv prints the config change',
    );

    const status = cli(['status', 'acme/orders/drifted.csv'], dir);
    expect(status.stdout).toMatch(/FAILED/);
    expect(status.stdout).toContain(
      'warning acme/orders/drifted.csv line 1: the header differs from the feed\'s csv.columns: renamed: "id" -> "ID"; added: "Note"',
    );
    const json = JSON.parse(cli(['status', 'acme/orders/drifted.csv', '--json'], dir).stdout) as { warnings: unknown[] }[];
    expect(json[0]!.warnings).toEqual([expect.objectContaining({ code: 'HEADER_DRIFT' })]);

    const drift = cli(['drift', 'acme/orders/drifted.csv', '--root', root], dir);
    expect(drift.stderr).toContain('[HEADER_DRIFT]');
    expect(drift.stderr).toContain('note: new column to map (and to add to orders.schema.json): note: Note');
    expect(drift.code).toBe(0);
    expect(drift.stdout).toBe(
      [
        '--- a/partners/acme.yaml',
        '+++ b/partners/acme.yaml',
        '@@ -6,9 +6,9 @@',
        '     source:',
        '       prefix: acme/orders/',
        '     csv:',
        '-      columns: [id, amount]',
        '+      columns: [ID, amount, Note]',
        '     mapping:',
        '-      id: id',
        '+      id: ID',
        '       amount: $number(amount)',
        '     schema: orders.schema.json',
        '     output:',
        '',
      ].join('\n'),
    );

    writeFileSync(join(dir, 'fix.patch'), drift.stdout);
    const applied = spawnSync('git', ['apply', join(dir, 'fix.patch')], { cwd: root, encoding: 'utf8' });
    expect(applied.stderr).toBe('');
    expect(readFileSync(join(root, 'partners/acme.yaml'), 'utf8')).toContain('columns: [ID, amount, Note]');
    const again = cli(['transform', '--feed', 'acme/orders', 'drifted.csv', '--root', root], dir);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/^SUCCEEDED acme\/orders .*1 rows in, 1 out, 0 rejected/);
    expect(again.stderr).not.toContain('HEADER_DRIFT');
    expect(JSON.parse(again.stdout)).toEqual({ id: 'A', amount: 1 });

    const fine = cli(['drift', 'acme/orders/fine.csv', '--root', root], dir);
    expect(fine).toMatchObject({ code: 0, stdout: '' });
    expect(fine.stderr).toContain('acme/orders/fine.csv (SUCCEEDED): no header drift was recorded for its latest version');
    expect(cli(['drift', 'acme/orders/nope.csv', '--root', root], dir).code).toBe(1);
  });

  it('transform prints the warning and writes it into --summary', () => {
    const root = makeConfigRoot(validFiles());
    const dir = mkdtempSync(join(tmpdir(), 'partner-etl-drift-transform-'));
    writeFileSync(join(dir, 'f.csv'), 'amount,id\n1,A\n');
    const r = cli(['transform', '--feed', 'acme/orders', 'f.csv', '--summary', 'summary.json', '--root', root], dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "warning acme/orders/f.csv line 1: the header differs from the feed's csv.columns: reordered; suggested: list csv.columns in the file order",
    );
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ status: 'SUCCEEDED', warnings: [{ code: 'HEADER_DRIFT', drift: { reordered: true } }] });
  });
});
