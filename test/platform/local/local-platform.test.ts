import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { PortFaults } from '../../../platform/local/port-faults.js';
import { findGoldenCases, sampleKey } from '../../../platform/config/golden.js';
import { requireValidConfig } from '../../../platform/config/load-config.js';
import { startLocalPlatform } from '../../../platform/local/local-platform.js';
import { readRunningState } from '../../../platform/local/state.js';
import { makeConfigRoot, validFiles } from '../../support/config-root.js';

const REPO = join(import.meta.dirname, '../../..');
const BIN = join(REPO, 'platform/cli/partner-etl.mjs');

function cli(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe('partner-etl dev --once', () => {
  it('processes the sample files into the golden outputs, and status reads the persisted ledger', () => {
    const dir = mkdtempSync(join(tmpdir(), 'partner-etl-dev-'));
    const run = cli(['dev', '--once', '--root', REPO], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("inbox was empty: copied the sample partners' sample files");
    expect(run.stdout).toContain('5 files: 5 succeeded, partial or duplicate; 0 failed');
    const outputs = filesUnder(join(dir, 'outbox/output')).filter((f) => f.endsWith('.ndjson'));
    const config = requireValidConfig(REPO);
    for (const c of findGoldenCases(REPO, config)) {
      const name = sampleKey(c)
        .split('/')
        .pop()!
        .replace(/\.[^.]+$/, '');
      const output = outputs.find(
        (f) => f.includes(`/partner=${c.feed.partner}/feed=${c.feed.id}/`) && f.split('/').pop()!.startsWith(`${name}.`),
      );
      expect(output, c.csv).toBeDefined();
      expect(readFileSync(output!, 'utf8')).toBe(readFileSync(join(REPO, c.expected), 'utf8'));
    }
    expect(readFileSync(join(dir, 'outbox/events.ndjson'), 'utf8').trim().split('\n')).toHaveLength(5);

    const status = cli(['status', '--json'], dir);
    expect(status.code).toBe(0);
    const records = JSON.parse(status.stdout) as Record<string, unknown>[];
    expect(records.map((r) => [r.key, r.status, r.rowsIn, r.rowsOut, r.rowsRejected]).sort()).toEqual(
      [
        ['acme/customers/week-48.csv', 'SUCCEEDED', 3, 3, 0],
        ['acme/orders/2026-11-27.csv', 'SUCCEEDED', 5, 5, 0],
        ['acme/orders/with-bad-rows.csv', 'PARTIAL', 16, 12, 4],
        ['globex/shipments/2026-11-27T10.txt', 'SUCCEEDED', 4, 4, 0],
        ['muller/invoices/2026-11.csv', 'SUCCEEDED', 4, 4, 0],
      ].sort(),
    );
    for (const r of records) {
      for (const field of [
        'key',
        'partner',
        'feed',
        'status',
        'rowsIn',
        'rowsOut',
        'rowsRejected',
        'attempts',
        'outputKey',
        'receivedAt',
        'finishedAt',
      ]) {
        expect(r).toHaveProperty(field);
      }
    }
    const partial = cli(['status', '--status', 'partial', '--since', '1h'], dir);
    expect(partial.stdout.trim().split('\n')).toHaveLength(1);
    expect(partial.stdout).toContain('acme/orders/with-bad-rows.csv');
  }, 180_000);

  it('runs partner configs it has never seen, from another folder, on the ports given', async () => {
    const root = makeConfigRoot(validFiles());
    const dir = mkdtempSync(join(tmpdir(), 'partner-etl-dev-'));
    mkdirSync(join(dir, 'in/acme/orders'), { recursive: true });
    writeFileSync(join(dir, 'in/acme/orders/a.csv'), 'id,amount\nA,1\nB,x\n');
    const [s3SqsPort, dynamodbPort] = [await freePort(), await freePort()];
    const run = cli(
      [
        'dev',
        '--once',
        '--root',
        root,
        '--inbox',
        'in',
        '--outbox',
        'out',
        '--s3-sqs-port',
        String(s3SqsPort),
        '--dynamodb-port',
        String(dynamodbPort),
      ],
      dir,
    );
    expect(run.stdout).toContain(`S3/SQS http://127.0.0.1:${s3SqsPort}, DynamoDB http://127.0.0.1:${dynamodbPort}`);
    expect(run.code).toBe(1); // B,x is rejected and maxRejectedPercent is 0: FAILED
    expect(run.stdout).toMatch(/FAILED\s+acme\/orders\s+2\/1\/1\s+acme\/orders\/a\.csv/);
  }, 120_000);
});

describe('partner-etl dev (watching)', () => {
  it('processes files that arrive later and stops cleanly on Ctrl-C', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'partner-etl-watch-'));
    const child = spawn(process.execPath, [BIN, 'dev', '--root', REPO], { cwd: dir });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const waitFor = async (text: string) => {
      for (let i = 0; i < 300 && !stdout.includes(text); i++) await new Promise((r) => setTimeout(r, 100));
      expect(stdout).toContain(text);
    };
    await waitFor('muller/invoices/2026-11.csv  4 in, 4 out');
    mkdirSync(join(dir, 'inbox/acme/orders'), { recursive: true });
    writeFileSync(join(dir, 'inbox/acme/orders/later.csv'), readFileSync(join(REPO, 'mappings/acme/orders/samples/2026-11-27.csv')));
    await waitFor('acme/orders/later.csv  5 in, 5 out, 0 rejected');
    expect(readRunningState(join(dir, '.partner-etl'))?.pid).toBe(child.pid);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stdout).toContain('stopping: letting in-flight files finish');
    expect(readRunningState(join(dir, '.partner-etl'))).toBeUndefined();
  }, 120_000);
});

describe('the local platform', () => {
  it('records a file dropped twice as DUPLICATE, and new bytes under the same key as a new version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'partner-etl-local-'));
    const inbox = join(dir, 'inbox');
    mkdirSync(join(inbox, 'acme/orders'), { recursive: true });
    const csv = readFileSync(join(REPO, 'mappings/acme/orders/samples/2026-11-27.csv'));
    writeFileSync(join(inbox, 'acme/orders/day.csv'), csv);
    const platform = await startLocalPlatform({
      root: REPO,
      inbox,
      outbox: join(dir, 'outbox'),
      stateDir: join(dir, 'state'),
      log: () => undefined,
    });
    try {
      expect(readRunningState(join(dir, 'state'))?.pid).toBe(process.pid);
      await platform.scanInbox();
      await platform.settle();
      writeFileSync(join(inbox, 'acme/orders/day.csv'), csv); // same bytes, new upload
      await new Promise((r) => setTimeout(r, 20));
      await platform.scanInbox();
      await platform.settle();
      writeFileSync(join(inbox, 'acme/orders/day.csv'), `${csv}A-9,2026-11-27,n@example.com,N,9,EUR,standard\n`);
      await platform.scanInbox();
      await platform.settle();
      const history = await platform.ledger.history('partner-etl-inbound', 'acme/orders/day.csv');
      expect(history.map((r) => [r.status, r.rowsOut])).toEqual([
        ['SUCCEEDED', 5],
        ['DUPLICATE', 0],
        ['SUCCEEDED', 6],
      ]);
      const outputs = filesUnder(join(dir, 'outbox/output')).filter((f) => f.endsWith('.ndjson'));
      expect(outputs).toHaveLength(2);
    } finally {
      await platform.stop();
    }
    expect(readRunningState(join(dir, 'state'))).toBeUndefined();
  }, 120_000);

  it('moves a poison file to its feed dead-letter queue after maxReceiveCount and shows it FAILED', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'partner-etl-local-'));
    const inbox = join(dir, 'inbox');
    mkdirSync(join(inbox, 'acme/orders'), { recursive: true });
    writeFileSync(join(inbox, 'acme/orders/poison.csv'), readFileSync(join(REPO, 'mappings/acme/orders/samples/2026-11-27.csv')));
    const attempts: string[] = [];
    // every attempt fails on reading the file, as a file that always crashes the handler would
    const poison: PortFaults = {
      inject(call, key) {
        if (call !== 'store.open' || !key.endsWith('poison.csv')) return undefined;
        attempts.push(call);
        return 'before';
      },
    };
    const platform = await startLocalPlatform({
      root: REPO,
      inbox,
      outbox: join(dir, 'outbox'),
      stateDir: join(dir, 'state'),
      log: () => undefined,
      faults: poison,
      visibilitySeconds: 1,
    });
    try {
      await platform.scanInbox();
      const [item] = await platform.settle(60_000);
      expect(attempts).toHaveLength(5);
      expect(item!.record).toMatchObject({
        status: 'FAILED',
        attempts: 5,
        errors: [expect.objectContaining({ code: 'RETRIES_EXHAUSTED' })],
      });
      const { dlqUrl } = platform.queues.get('acme/orders')!;
      let dead = '0';
      for (let i = 0; i < 50 && dead === '0'; i++) {
        const attrs = await platform.emulators.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
        );
        dead = attrs.Attributes!.ApproximateNumberOfMessages!;
        if (dead === '0') await new Promise((r) => setTimeout(r, 200));
      }
      expect(dead).toBe('1');
      // the event is written just after the ledger update
      for (let i = 0; i < 50 && !existsSync(join(dir, 'outbox/events.ndjson')); i++) await new Promise((r) => setTimeout(r, 100));
      const events = readFileSync(join(dir, 'outbox/events.ndjson'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(events).toEqual([
        expect.objectContaining({
          'detail-type': 'FileFailed',
          detail: expect.objectContaining({ key: 'acme/orders/poison.csv', status: 'FAILED' }),
        }),
      ]);
    } finally {
      await platform.stop();
    }
  }, 120_000);
});
