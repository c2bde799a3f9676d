import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { requireValidConfig } from '../../../platform/config/load-config.js';
import { startLocalPlatform } from '../../../platform/local/local-platform.js';
import { objectCreatedEvent } from '../../../platform/local/s3-events.js';
import { LOCAL_NAMES } from '../../../platform/local/state.js';
import { makeConfigRoot, VALID_SCHEMA } from '../../support/config-root.js';
import { runEngine } from '../../support/engine.js';

const PARTNER = `id: acme
name: ACME
owner: data@example.com
feeds:
  - id: orders
    source:
      prefix: acme/orders/
    csv:
      columns: [id, amount, note]
    mapping:
      id: id
      amount: $number(amount)
      note: note
      line: $source.line
      record: $source.record
    schema: orders.schema.json
    output:
      dataset: orders
    errors:
      maxRejectedPercent: 10
    split:
      aboveMiB: 1
      chunkMiB: 1
`;

/** About 3.8 MB: quoted notes with CRLF and LF inside (a newline split would cut them), one bad amount in 50. */
function bigCsv(badEvery = 50): Buffer {
  const rows = ['id,amount,note'];
  for (let i = 0; i < 100_000; i++) {
    const amount = i % badEvery === 3 ? 'n/a' : (i * 1.25).toFixed(2);
    const note = i % 3 === 0 ? `"first line\r\nsecond, ""quoted"" line\nthird ${i}"` : `plain ${i}`;
    rows.push(`A-${i},${amount},${note}`);
  }
  return Buffer.from(`${rows.join('\r\n')}\r\n`);
}

async function text(s3: ReturnType<typeof Object>, bucket: string, key: string): Promise<string> {
  const got = await (s3 as import('@aws-sdk/client-s3').S3Client).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return got.Body!.transformToString('utf8');
}

describe('split files on the local platform', () => {
  it('runs a file above split.aboveMiB as chunks on the worker pool: parts in order equal the whole-file run, one status, one run', async () => {
    const root = makeConfigRoot({ 'partners/acme.yaml': PARTNER, 'mappings/acme/orders.schema.json': VALID_SCHEMA });
    const dir = mkdtempSync(join(tmpdir(), 'partner-etl-split-'));
    const inbox = join(dir, 'inbox');
    mkdirSync(join(inbox, 'acme/orders'), { recursive: true });
    const good = bigCsv();
    const bad = bigCsv(5); // 20% rejected: over maxRejectedPercent
    writeFileSync(join(inbox, 'acme/orders/big.csv'), good);
    writeFileSync(join(inbox, 'acme/orders/bad.csv'), bad);
    const lines: string[] = [];
    const platform = await startLocalPlatform({
      root,
      inbox,
      outbox: join(dir, 'outbox'),
      stateDir: join(dir, 'state'),
      seedSamples: false,
      splitWorkers: 2,
      log: (line) => lines.push(line),
    });
    try {
      const [bigItem] = await platform.scanInbox().then((items) => items.filter((i) => i.object.key.endsWith('big.csv')));
      // A duplicate delivery while the run is in flight: acknowledged, never a second run.
      await platform.emulators.sqs.send(
        new SendMessageCommand({
          QueueUrl: platform.queues.get('acme/orders')!.url,
          MessageBody: JSON.stringify(objectCreatedEvent(bigItem!.object)),
        }),
      );
      const tracked = await platform.settle(120_000);
      const { s3 } = platform.emulators;
      const buckets = LOCAL_NAMES.buckets;
      const feed = requireValidConfig(root).partners[0]!.feeds[0]!;

      const big = tracked.find((t) => t.object.key.endsWith('big.csv'))!.record!;
      const whole = await runEngine(feed, good, { key: 'acme/orders/big.csv', chunkSize: 1 << 16 });
      expect(whole.outcome.status).toBe('PARTIAL');
      expect(big).toMatchObject({
        status: 'PARTIAL',
        rowsIn: whole.outcome.rowsIn,
        rowsOut: whole.outcome.rowsOut,
        rowsRejected: whole.outcome.rowsRejected,
        attempts: 1,
      });
      expect(big.outputKey).toBe(big.manifestKey);
      const manifest = JSON.parse(await text(s3, buckets.output, big.manifestKey!)) as {
        output: { parts: { key: string; records: number }[] };
      };
      expect(manifest.output.parts.length).toBeGreaterThanOrEqual(3);
      const parts = await Promise.all(manifest.output.parts.map((p) => text(s3, buckets.output, p.key)));
      expect(parts.join('')).toBe(whole.output);
      expect(manifest.output.parts.map((p) => p.records)).toEqual(parts.map((p) => p.split('\n').length - 1));
      const rejects = await text(s3, buckets.rejects, big.rejectsKey!);
      expect(
        rejects
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as unknown),
      ).toEqual(whole.rejects);

      const failed = tracked.find((t) => t.object.key.endsWith('bad.csv'))!.record!;
      const wholeBad = await runEngine(feed, bad, { key: 'acme/orders/bad.csv' });
      expect(failed).toMatchObject({ status: 'FAILED', rowsIn: wholeBad.outcome.rowsIn, rowsRejected: wholeBad.outcome.rowsRejected });
      expect(failed.errors![0]!.code).toBe('TOO_MANY_REJECTS');
      const outputs = await s3.send(new ListObjectsV2Command({ Bucket: buckets.output }));
      const keys = (outputs.Contents ?? []).map((o) => o.Key!);
      expect(keys.filter((k) => k.includes('/bad.'))).toEqual([]); // the parts of a FAILED file are removed
      expect(keys.filter((k) => k.includes('/big.'))).toHaveLength(manifest.output.parts.length + 1);
      const work = await s3.send(new ListObjectsV2Command({ Bucket: buckets.rejects }));
      expect((work.Contents ?? []).filter((o) => o.Key!.includes('.split/'))).toEqual([]); // working files are gone

      const history = await platform.ledger.history(buckets.inbound, 'acme/orders/big.csv');
      expect(history).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 500)); // the duplicate delivery is handled by now
      expect(lines.filter((l) => l.startsWith('PARTIAL') && l.includes('big.csv') && l.includes('chunks)'))).toHaveLength(1);
      const events = readFileSync(join(dir, 'outbox/events.ndjson'), 'utf8').trim().split('\n');
      // Events are at least once (a delivery between the status and its event-sent mark sends it again), all for the one outcome.
      const bigEvents = events
        .map((e) => JSON.parse(e) as { detail: { key: string; status: string } })
        .filter((e) => e.detail.key === 'acme/orders/big.csv');
      expect(bigEvents.length).toBeGreaterThanOrEqual(1);
      expect(new Set(bigEvents.map((e) => e.detail.status))).toEqual(new Set(['PARTIAL']));
    } finally {
      await platform.stop();
    }
  }, 180_000);
});
