import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DynamoDbFileLedger } from '../../../lambdas/transformer/ledger/dynamodb-ledger.js';
import { startEmulators } from '../../../platform/local/emulators.js';
import { createLedgerTable } from '../../../platform/local/provision.js';
import { dynamoDataPath, LOCAL_NAMES } from '../../../platform/local/state.js';
import { makeConfigRoot, validFiles, VALID_PARTNER, VALID_SCHEMA } from '../../support/config-root.js';

const REPO = join(import.meta.dirname, '../../..');
const BIN = join(REPO, 'platform/cli/partner-etl.mjs');

function cli(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `partner-etl-${name}-`));
/** A stack trace line, as Node prints one. */
const STACK_LINE = /^\s+at .+\(.+:\d+:\d+\)$/m;

describe('partner-etl status from the ledger alone', () => {
  it('lists, filters, summarises and details the files of dev --once --root OTHER without --root', () => {
    const root = makeConfigRoot({
      ...validFiles(),
      'partners/acme.yaml': VALID_PARTNER.replace(
        'output:\n      dataset: orders\n',
        'output:\n      dataset: orders\n    errors:\n      maxRejectedPercent: 50\n',
      ),
    });
    const dir = tmp('status'); // holds no partners/ or mappings/: status must not need them
    mkdirSync(join(dir, 'inbox/acme/orders'), { recursive: true });
    writeFileSync(join(dir, 'inbox/acme/orders/a.csv'), 'id,amount\nA,1\nB,x\nC,3\n');
    writeFileSync(join(dir, 'inbox/acme/orders/b.csv'), 'id,amount\nA,1\n');
    expect(cli(['dev', '--once', '--root', root], dir).code).toBe(0);
    writeFileSync(join(dir, 'inbox/acme/orders/b.csv'), 'id,amount\nA,1\nB,2\n'); // a second version of b.csv
    expect(cli(['dev', '--once', '--root', root], dir).code).toBe(0);

    const list = cli(['status'], dir);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines).toHaveLength(4); // a.csv twice (the second a DUPLICATE), b.csv in two versions
    expect(lines[0]).toMatch(/SUCCEEDED\s+acme\/orders\s+2 in, 2 out, 0 rejected\s+acme\/orders\/b\.csv$/);
    expect(list.stdout).toMatch(/PARTIAL\s+acme\/orders\s+3 in, 2 out, 1 rejected\s+acme\/orders\/a\.csv/);

    const json = JSON.parse(cli(['status', '--feed', 'acme/orders', '--status', 'partial', '--json'], dir).stdout) as { key: string }[];
    expect(json.map((r) => r.key)).toEqual(['acme/orders/a.csv']);

    const summary = JSON.parse(cli(['status', '--summary', '--json', '--since', '1h'], dir).stdout);
    expect(summary).toEqual([
      expect.objectContaining({ partner: 'acme', feed: 'orders', files: 4, succeeded: 2, partial: 1, failed: 0, duplicate: 1 }),
    ]);
    expect(summary[0]).toMatchObject({ rowsIn: 6, rowsOut: 5, rowsRejected: 1 });
    const table = cli(['status', '--summary'], dir).stdout.split('\n');
    expect(table[0]).toMatch(/^feed\s+files\s+ok\s+partial\s+failed\s+dup\s+in flight\s+rows in\s+rows out\s+rejected\s+last received$/);
    expect(table[1]).toMatch(/^acme\/orders\s+4\s+2\s+1\s+0\s+1\s+0\s+6\s+5\s+1\s+\d{4}-/);

    const detail = cli(['status', 'acme/orders/b.csv'], dir);
    expect(detail.code).toBe(0);
    const versions = detail.stdout.split('\n').filter((l) => l.startsWith('acme/orders/b.csv'));
    expect(versions).toHaveLength(2);
    expect(versions[0]).not.toContain('(latest)');
    expect(versions[1]).toContain('(latest)');
    const detailJson = JSON.parse(cli(['status', 'acme/orders/b.csv', '--json'], dir).stdout) as { latest: boolean; rowsIn: number }[];
    expect(detailJson.map((r) => [r.rowsIn, r.latest])).toEqual([
      [1, false],
      [2, true],
    ]);

    const unknown = cli(['status', 'acme/orders/nope.csv'], dir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      `partner-etl: there is no file acme/orders/nope.csv in the ledger in ${join(dir, '.partner-etl')} (no local platform is running there)\n`,
    );
    const none = cli(['status', '--partner', 'globex'], dir);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe(
      `No file in the ledger in ${join(dir, '.partner-etl')} (no local platform is running there) matches (partner globex).\n`,
    );

    const bareFeed = cli(['status', '--feed', 'orders'], dir);
    expect(bareFeed.code).toBe(2);
    expect(bareFeed.stderr).toBe('partner-etl: --feed takes <partner>/<feed>, e.g. acme/orders, not "orders"\n');
    expect(cli(['status', '--feed', 'acme/orders', '--partner', 'globex'], dir).code).toBe(2);
  }, 240_000);
});

describe('partner-etl dev with an invalid config', () => {
  it('prints every problem as a sentence, no stack trace, and exits 2', () => {
    const root = makeConfigRoot({ 'partners/acme.yaml': 'id: acme\n' });
    const r = cli(['dev', '--once', '--root', root], tmp('invalid'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('partner-etl: the partner configuration has 3 problems:');
    expect(r.stderr).toContain('partners/acme.yaml:1:1: the file is missing required key "owner"');
    expect(r.stderr).not.toMatch(STACK_LINE);
  }, 60_000);
});

describe('partner-etl dev (watching partners/ and mappings/)', () => {
  it('applies a fixed config, which reprocess then uses; refuses an invalid one and keeps the live config', async () => {
    const root = makeConfigRoot(validFiles());
    const dir = tmp('reload');
    mkdirSync(join(dir, 'inbox/acme/orders'), { recursive: true });
    writeFileSync(join(dir, 'inbox/acme/orders/a.csv'), 'id,amount\nA,1\nB,x\n');
    const child = spawn(process.execPath, [BIN, 'dev', '--root', root, '--state', 'mystate'], { cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const waitFor = async (pattern: RegExp) => {
      for (let i = 0; i < 600 && !pattern.test(stdout); i++) await new Promise((r) => setTimeout(r, 100));
      expect(stdout).toMatch(pattern);
      return pattern.exec(stdout)!;
    };
    try {
      const [, firstHash] = await waitFor(/config ([0-9a-f]{12}) is live \(partners\/ and mappings\/ of /);
      await waitFor(/FAILED\s+acme\/orders\s+acme\/orders\/a\.csv\s+2 in, 1 out, 1 rejected/);

      // a platform under another --state is named, not reported as not running
      const elsewhere = cli(['reprocess', 'acme/orders/a.csv'], dir);
      expect(elsewhere.code).toBe(1);
      expect(elsewhere.stderr).toContain(`no local platform is running with --state ${join(dir, '.partner-etl')}`);
      expect(elsewhere.stderr).toContain(`running with --state ${join(dir, 'mystate')}`);

      // the fix: tolerate the bad row
      writeFileSync(
        join(root, 'partners/acme.yaml'),
        VALID_PARTNER.replace(
          'output:\n      dataset: orders\n',
          'output:\n      dataset: orders\n    errors:\n      maxRejectedPercent: 50\n',
        ),
      );
      const [, fixedHash] = await waitFor(new RegExp(`config ([0-9a-f]{12}) is live \\(was ${firstHash}\\)`));
      expect(fixedHash).not.toBe(firstHash);
      const reprocess = cli(['reprocess', 'acme/orders/a.csv', '--state', 'mystate'], dir);
      expect(reprocess.stderr).toBe('');
      expect(reprocess.code).toBe(0);
      expect(reprocess.stdout).toContain(`(acme/orders, last FAILED, 1 attempt) for a new attempt on the local platform running in`);
      expect(reprocess.stdout).toContain(`config ${fixedHash})`);
      await waitFor(/PARTIAL\s+acme\/orders\s+acme\/orders\/a\.csv\s+2 in, 1 out, 1 rejected/);
      const detail = JSON.parse(cli(['status', 'acme/orders/a.csv', '--state', 'mystate', '--json'], dir).stdout) as {
        status: string;
        attempts: number;
        configHash: string;
      }[];
      expect(detail).toEqual([
        expect.objectContaining({ status: 'PARTIAL', attempts: 2, configHash: expect.stringMatching(`^${fixedHash}`) }),
      ]);

      // a broken change is refused with its problems; the fixed config stays live
      writeFileSync(join(root, 'partners/acme.yaml'), VALID_PARTNER.replace('$number(amount)', '$number('));
      await waitFor(new RegExp(`config change not applied: 1 problem; config ${fixedHash} stays live`));
      // the problem is its own line, written after the summary: waited for, not assumed in the same chunk
      await waitFor(/partners\/acme\.yaml:12:22: JSONata: Expected "\)" before end of expression/);
      writeFileSync(join(dir, 'inbox/acme/orders/c.csv'), 'id,amount\nA,1\nB,x\n');
      await waitFor(/PARTIAL\s+acme\/orders\s+acme\/orders\/c\.csv\s+2 in, 1 out, 1 rejected/);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    }
    expect(stderr).not.toMatch(STACK_LINE);
    expect(readFileSync(join(dir, 'outbox/events.ndjson'), 'utf8').trim().split('\n')).toHaveLength(3);
  }, 240_000);
});

describe('partner-etl status --overdue', () => {
  it('lists the scheduled feeds whose latest deadline passed with no file received in its window', async () => {
    const now = Date.now();
    const by = new Date(Math.floor((now - 30 * 60_000) / 60_000) * 60_000); // half an hour ago, on the minute
    const hhmm = by.toISOString().slice(11, 16);
    const partner = (id: string, schedule: string) =>
      VALID_PARTNER.replace(/acme/g, id).replace('output:\n      dataset: orders\n', `output:\n      dataset: orders\n${schedule}`);
    const scheduled = `    schedule:\n      every: day\n      by: "${hhmm}"\n      timezone: UTC\n`;
    const root = makeConfigRoot({
      'partners/acme.yaml': partner('acme', scheduled),
      'mappings/acme/orders.schema.json': VALID_SCHEMA,
      'partners/globex.yaml': partner('globex', scheduled),
      'mappings/globex/orders.schema.json': VALID_SCHEMA,
      'partners/initech.yaml': partner('initech', ''),
      'mappings/initech/orders.schema.json': VALID_SCHEMA,
    });
    // acme's file arrived an hour ago, inside the window its deadline closed; globex sent nothing
    const stateDir = tmp('overdue');
    const emulators = await startEmulators({ dynamoPath: dynamoDataPath(stateDir) });
    try {
      await createLedgerTable(emulators.dynamodb, LOCAL_NAMES.tableName);
      const ledger = new DynamoDbFileLedger(emulators.dynamodb, LOCAL_NAMES.tableName, () => new Date(now - 3_600_000));
      const object = { bucket: LOCAL_NAMES.buckets.inbound, key: 'acme/orders/day.csv', etag: 'e', size: 9, sequencer: '1', time: '' };
      await ledger.claim(object, { partner: 'acme', feed: 'orders', requestId: 'r', leaseMs: 1000 });
    } finally {
      await emulators.stop();
    }
    const r = cli(['status', '--overdue', '--state', stateDir, '--root', root], tmp('cwd'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const windowStart = new Date(by.getTime() - 86_400_000).toISOString();
    expect(r.stdout).toBe(
      `OVERDUE globex/orders          due by ${by.toISOString()}, no file under globex/orders/ since ${windowStart}  (every day by ${hhmm} (UTC))\n`,
    );
    const json = JSON.parse(cli(['status', '--overdue', '--json', '--state', stateDir, '--root', root], tmp('cwd')).stdout);
    expect(json).toEqual([
      {
        partner: 'globex',
        feed: 'orders',
        schedule: `every day by ${hhmm} (UTC)`,
        deadline: by.toISOString(),
        windowStart,
        prefix: 'globex/orders/',
      },
    ]);
    expect(cli(['status', '--overdue', '--feed', 'acme/orders', '--state', stateDir, '--root', root], tmp('cwd')).stdout).toBe(
      'No feed is overdue: the scheduled feed has a file in its latest window.\n',
    );
  }, 120_000);
});
