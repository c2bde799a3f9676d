import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { powertoolsTelemetry } from '../../../lambdas/transformer/telemetry.js';
import { requireValidConfig } from '../../../platform/config/load-config.js';
import { startHarness, type Harness } from '../../support/handler-harness.js';

const REPO = join(import.meta.dirname, '../../..');
/** acme/orders' declared columns with `shipping` and `currency` swapped and a new `coupon` column: the file still succeeds. */
const DRIFTED =
  'order_id,order_date,customer_email,customer_name,amount,shipping,currency,coupon\nA-1,2026-11-27,a@example.com,Ann,10,standard,eur,X\n';
const EXPECTED =
  'order_id,order_date,customer_email,customer_name,amount,currency,shipping\nA-1,2026-11-27,a@example.com,Ann,10,eur,standard\n';

let h: Harness;
const stdout: string[] = [];
const writeStdout = process.stdout.write.bind(process.stdout);
const writeStderr = process.stderr.write.bind(process.stderr);
beforeAll(async () => {
  const logger = new Logger({ serviceName: 'partner-etl', logLevel: 'INFO' });
  const metrics = new Metrics({ serviceName: 'partner-etl', namespace: 'test' });
  h = await startHarness(requireValidConfig(REPO), { telemetry: powertoolsTelemetry(logger, metrics) });
});
afterAll(async () => {
  process.stdout.write = writeStdout;
  process.stderr.write = writeStderr;
  await h.stop();
});

/** Runs one upload through the real handler, keeping what Powertools writes (log lines, warnings on stderr, EMF metrics). */
async function run(key: string, body: string) {
  const object = await h.upload(key, body);
  stdout.length = 0;
  const keep = ((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = keep;
  process.stderr.write = keep;
  try {
    expect((await h.invoke(h.sqsEvent(h.bodyOf(object)))).batchItemFailures).toEqual([]);
  } finally {
    process.stdout.write = writeStdout;
    process.stderr.write = writeStderr;
  }
  const [record] = await h.ledger.history(h.buckets.inbound, object.key);
  const emf = stdout.map((line) => JSON.parse(line) as Record<string, unknown>).filter((doc) => '_aws' in doc);
  return { object, record: record!, emf, logs: stdout.join('') };
}

describe('HEADER_DRIFT through S3, SQS, the handler and DynamoDB', () => {
  it('a file with a reordered and a new column SUCCEEDS, and the ledger, summary, manifest, event, log and HeaderDrift metric carry the warning', async () => {
    const { object, record, emf, logs } = await run('acme/orders/drifted.csv', DRIFTED);
    expect(record).toMatchObject({ status: 'SUCCEEDED', rowsIn: 1, rowsOut: 1, rowsRejected: 0 });
    const drift = { renamed: [], added: ['coupon'], missing: [], reordered: true };
    expect(record.warnings).toEqual([
      { code: 'HEADER_DRIFT', line: 1, message: expect.stringContaining('added: "coupon"'), drift: expect.objectContaining(drift) },
    ]);

    const summary = JSON.parse(await h.read(h.buckets.rejects, record.summaryKey!));
    expect(summary.warnings[0].drift).toMatchObject(drift);
    const manifest = JSON.parse(await h.read(h.buckets.output, record.manifestKey!));
    expect(manifest.warnings[0].code).toBe('HEADER_DRIFT');
    const event = h.events.events.find((e) => e.detail.key === object.key);
    expect(event).toMatchObject({
      detailType: 'FileProcessed',
      detail: { status: 'SUCCEEDED', warnings: [{ code: 'HEADER_DRIFT', drift }] },
    });

    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({ partner: 'acme', feed: 'orders', HeaderDrift: 1 });
    const warning = stdout.map((line) => JSON.parse(line) as Record<string, unknown>).find((l) => l.code === 'HEADER_DRIFT');
    expect(warning).toMatchObject({ level: 'WARN', message: 'header drift: the partner changed the header', key: object.key });
    expect(warning!.warning).toContain('added: "coupon"');
    expect(logs).not.toContain('reserved key');
  });

  it('the same feed with the expected header: HeaderDrift 0 and no warnings anywhere', async () => {
    const { object, record, emf } = await run('acme/orders/as-expected.csv', EXPECTED);
    expect(record.status).toBe('SUCCEEDED');
    expect(record.warnings).toBeUndefined();
    expect(emf[0]).toMatchObject({ HeaderDrift: 0 });
    expect(h.events.events.find((e) => e.detail.key === object.key)?.detail).not.toHaveProperty('warnings');
  });

  it('a renamed declared column FAILS as before (MISSING_COLUMNS) with the rename in its warning, recorded once again by a new attempt', async () => {
    const renamed = EXPECTED.replace('order_id', 'Order ID');
    const first = await run('acme/orders/renamed.csv', renamed);
    expect(first.record).toMatchObject({ status: 'FAILED', errors: [expect.objectContaining({ code: 'MISSING_COLUMNS' })] });
    expect(first.record.warnings?.[0]?.drift.renamed).toEqual([{ from: 'order_id', to: 'Order ID', match: 'normalised' }]);
    expect(h.events.events.find((e) => e.detail.key === first.object.key)).toMatchObject({
      detailType: 'FileFailed',
      detail: { warnings: [{ code: 'HEADER_DRIFT' }] },
    });

    // Each attempt writes the version's warnings afresh (the claim removes the last attempt's): one warning, not two.
    await h.ledger.requestReprocess(h.buckets.inbound, first.object.key);
    const rerun = await h.invoke(h.sqsEvent(h.bodyOf(first.object)));
    expect(rerun.batchItemFailures).toEqual([]);
    const history = await h.ledger.history(h.buckets.inbound, first.object.key);
    expect(history.at(-1)).toMatchObject({ status: 'FAILED', attempts: 2 });
    expect(history.at(-1)!.warnings).toHaveLength(1);
  });
});
