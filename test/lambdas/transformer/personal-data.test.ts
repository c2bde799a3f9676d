import { join } from 'node:path';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LISTED_ERRORS, MAX_LISTED_MESSAGE_BYTES } from '../../../lambdas/transformer/engine/outcome.js';
import { powertoolsTelemetry } from '../../../lambdas/transformer/telemetry.js';
import { requireValidConfig } from '../../../platform/config/load-config.js';
import { startHarness, type Harness } from '../../support/handler-harness.js';

const REPO = join(import.meta.dirname, '../../..');
const SECRET = 'PERSONAL-DATA-4e1b';
const HEADER = 'order_id,order_date,customer_email,customer_name,amount,currency,shipping';
/** A cell of 64 KB that is personal data from its first character to its last. */
const HUGE = `${SECRET}${'x'.repeat(64 * 1024)}${SECRET}`;

/** 40 valid rows and 10 rejected rows of 64 KB each: 5 schema violations, 5 mapping errors quoting the cell. */
function fileWithTenHugeRejects(): string {
  const rows = [HEADER];
  for (let i = 0; i < 40; i++) rows.push(`A-${1000 + i},2026-11-27,ok${i}@example.com,Name ${i},10,eur,standard`);
  for (let i = 0; i < 5; i++) rows.push(`A-${2000 + i},2026-11-27,x@example.com,${HUGE},-1,eur,standard`);
  for (let i = 0; i < 5; i++) rows.push(`A-${3000 + i},2026-11-27,x@example.com,Name,${HUGE},eur,standard`);
  return `${rows.join('\n')}\n`;
}

let h: Harness;
const logLines: string[] = [];
const writeStdout = process.stdout.write.bind(process.stdout);
beforeAll(async () => {
  // Powertools writes its JSON log lines to stdout: every line written while the file runs is kept.
  const logger = new Logger({ serviceName: 'partner-etl', logLevel: 'DEBUG' });
  const metrics = new Metrics({ serviceName: 'partner-etl', namespace: 'test' });
  h = await startHarness(requireValidConfig(REPO), { telemetry: powertoolsTelemetry(logger, metrics) });
});
afterAll(async () => {
  process.stdout.write = writeStdout;
  await h.stop();
});

describe('personal data stays in the rejects object', () => {
  it('ten rejected rows of 64 KB end PARTIAL, and no row value reaches the ledger, manifest, event or log lines', async () => {
    const object = await h.upload('acme/orders/huge-rejects.csv', fileWithTenHugeRejects());
    process.stdout.write = ((chunk: string | Uint8Array) => {
      logLines.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    const result = await h.invoke(h.sqsEvent(h.bodyOf(object)));
    process.stdout.write = writeStdout;
    expect(result.batchItemFailures).toEqual([]);

    const [record] = await h.ledger.history(h.buckets.inbound, object.key);
    expect(record).toMatchObject({ status: 'PARTIAL', rowsIn: 50, rowsOut: 40, rowsRejected: 10 });
    expect(record!.errors).toHaveLength(MAX_LISTED_ERRORS);
    for (const e of record!.errors!) expect(Buffer.byteLength(e.message)).toBeLessThanOrEqual(MAX_LISTED_MESSAGE_BYTES);
    expect(record!.errors![0]).toEqual({
      line: 42,
      record: 41,
      code: 'SCHEMA_VIOLATION',
      field: '/amount',
      message: '/amount must be >= 0',
    });
    expect(record!.errors![9]).toEqual({
      line: 51,
      record: 50,
      code: 'MAPPING_ERROR',
      field: '/amount',
      message: '/amount: Unable to cast value to a number: <value> [D3030]',
    });

    // Every ledger item of the key as DynamoDB holds it, every attribute.
    const query = new QueryCommand({
      TableName: 'ledger',
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: `${h.buckets.inbound}/${object.key}` } },
    });
    const items = (await h.emulators.dynamodb.send(query)).Items ?? [];
    expect(items.length).toBeGreaterThanOrEqual(1);
    const ledger = JSON.stringify(items);
    const manifest = await h.read(h.buckets.output, record!.manifestKey!);
    const event = JSON.stringify(h.events.events.filter((e) => e.detail.key === object.key));
    expect(event).toContain('"status":"PARTIAL"');
    const logs = logLines.join('');
    expect(logs).toContain('"message":"file finished"');
    for (const [where, text] of Object.entries({ ledger, manifest, event, logs })) {
      expect({ where, leaks: text.includes(SECRET) }).toEqual({ where, leaks: false });
    }

    // The rejects object has every row, whole, with the value quoted in its message.
    const rejects = (await h.read(h.buckets.rejects, record!.rejectsKey!))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rejects).toHaveLength(10);
    expect(rejects[0].raw).toContain(HUGE);
    expect(rejects[9].message).toContain(SECRET);
  });
});
