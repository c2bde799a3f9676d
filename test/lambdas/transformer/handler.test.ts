import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { versionRef } from '../../../lambdas/transformer/ledger/file-ledger.js';
import { eventIdOf, STEP_TRIES } from '../../../lambdas/transformer/process-object.js';
import { findGoldenCases, sampleKey } from '../../../platform/config/golden.js';
import { requireValidConfig } from '../../../platform/config/load-config.js';
import type { FaultTiming, PortCall } from '../../../platform/local/port-faults.js';
import { startHarness, type Harness } from '../../support/handler-harness.js';

const REPO = join(import.meta.dirname, '../../..');
const config = requireValidConfig(REPO);
const ORDERS_CSV = readFileSync(join(REPO, 'mappings/acme/orders/samples/2026-11-27.csv'));

let h: Harness;
beforeAll(async () => {
  h = await startHarness(config);
});
afterAll(async () => {
  await h.stop();
});

describe('every sample feed through S3, an EventBridge-shaped SQS message and the handler', () => {
  for (const c of findGoldenCases(REPO, config)) {
    it(`${c.csv}: the output object is the golden output and the ledger has the counts`, async () => {
      const object = await h.upload(sampleKey(c), readFileSync(join(REPO, c.csv)));
      const result = await h.invoke(h.sqsEvent(h.bodyOf(object)));
      expect(result.batchItemFailures).toEqual([]);
      const [record] = await h.ledger.history(h.buckets.inbound, object.key);
      expect(record).toBeDefined();
      expect(['SUCCEEDED', 'PARTIAL']).toContain(record!.status);
      expect(record!.rowsIn).toBe(record!.rowsOut! + record!.rowsRejected!);
      expect(await h.read(h.buckets.output, record!.outputKey!)).toBe(readFileSync(join(REPO, c.expected), 'utf8'));
      // every sample schema has a version: its major is in the key, the full version in the manifest
      const major = c.feed.schemaVersion!.split('.')[0];
      expect(record!.outputKey).toMatch(
        new RegExp(
          `^${c.feed.output.dataset}/partner=${c.feed.partner}/feed=${c.feed.id}/v=${major}/date=\\d{4}-\\d{2}-\\d{2}/[^/]+\\.ndjson$`,
        ),
      );
      const manifest = JSON.parse(await h.read(h.buckets.output, record!.manifestKey!));
      expect(manifest).toMatchObject({ status: record!.status, rowsIn: record!.rowsIn, schema: c.feed.schemaFile, etag: object.etag });
      expect(manifest).toMatchObject({ schemaVersion: c.feed.schemaVersion, schemaMajor: Number(major) });
      expect(manifest.configHash).toMatch(/^[0-9a-f]{64}$/);
      if (record!.rowsRejected) {
        expect(await h.read(h.buckets.rejects, record!.rejectsKey!)).toBe(readFileSync(join(REPO, c.expectedRejects), 'utf8'));
      }
      const event = h.events.events.find((e) => e.detail.key === object.key);
      expect(event).toMatchObject({
        detailType: 'FileProcessed',
        detail: { status: record!.status, rowsOut: record!.rowsOut, schemaVersion: c.feed.schemaVersion },
      });
    });
  }
});

describe('duplicate deliveries', () => {
  it('the same event 10 times in sequence: one output, one final status, no error', async () => {
    const object = await h.upload('acme/orders/seq.csv', ORDERS_CSV);
    const body = h.bodyOf(object);
    for (let i = 0; i < 10; i++) expect((await h.invoke(h.sqsEvent(body))).batchItemFailures).toEqual([]);
    const history = await h.ledger.history(h.buckets.inbound, object.key);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
    expect(await h.listKeys(h.buckets.output, 'orders/partner=acme/feed=orders/')).toEqual(expect.arrayContaining([history[0]!.outputKey]));
    expect((await h.listKeys(h.buckets.output)).filter((k) => k.includes('/seq.') && k.endsWith('.ndjson'))).toHaveLength(1);
    expect(h.events.events.filter((e) => e.detail.key === object.key)).toHaveLength(1);
  });

  it('the same event 10 times concurrently: one output, one final status, no error', async () => {
    const object = await h.upload('acme/orders/conc.csv', ORDERS_CSV);
    const body = h.bodyOf(object);
    const failuresBefore = h.failures.length;
    const results = await Promise.all(Array.from({ length: 10 }, () => h.invoke(h.sqsEvent(body))));
    expect(results.flatMap((r) => r.batchItemFailures)).toEqual([]);
    expect(h.failures.length).toBe(failuresBefore);
    const history = await h.ledger.history(h.buckets.inbound, object.key);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
    expect((await h.listKeys(h.buckets.output)).filter((k) => k.includes('/conc.') && k.endsWith('.ndjson'))).toHaveLength(1);
    // the nine duplicates wait while the first attempt sends its event: none sends it again
    expect(h.events.events.filter((e) => e.detail.key === object.key)).toHaveLength(1);
  });

  it('a new upload of the same bytes under the same config is a DUPLICATE with no second output', async () => {
    const first = await h.upload('acme/orders/again.csv', ORDERS_CSV);
    await h.invoke(h.sqsEvent(h.bodyOf(first)));
    const second = await h.upload('acme/orders/again.csv', ORDERS_CSV);
    expect((await h.invoke(h.sqsEvent(h.bodyOf(second)))).batchItemFailures).toEqual([]);
    const history = await h.ledger.history(h.buckets.inbound, 'acme/orders/again.csv');
    expect(history.map((r) => r.status)).toEqual(['SUCCEEDED', 'DUPLICATE']);
    expect(history[1]!.duplicateOf).toBe(versionRef(first));
    expect((await h.listKeys(h.buckets.output)).filter((k) => k.includes('/again.') && k.endsWith('.ndjson'))).toHaveLength(1);
  });

  it('new bytes under the same key are a new version, processed and published', async () => {
    const first = await h.upload('acme/orders/changed.csv', ORDERS_CSV);
    await h.invoke(h.sqsEvent(h.bodyOf(first)));
    const second = await h.upload(
      'acme/orders/changed.csv',
      `${ORDERS_CSV.toString()}A-1006,2026-11-27,z@example.com,Zed,1,EUR,standard\n`,
    );
    await h.invoke(h.sqsEvent(h.bodyOf(second)));
    const history = await h.ledger.history(h.buckets.inbound, 'acme/orders/changed.csv');
    expect(history.map((r) => [r.status, r.rowsOut])).toEqual([
      ['SUCCEEDED', 5],
      ['SUCCEEDED', 6],
    ]);
    expect(await h.ledger.latestPublished(h.buckets.inbound, 'acme/orders/changed.csv')).toMatchObject({ etag: second.etag });
  });

  it("an older version arriving after a newer one never takes the newer one's place", async () => {
    const older = await h.upload('acme/orders/late.csv', ORDERS_CSV);
    const newer = await h.upload('acme/orders/late.csv', `${ORDERS_CSV.toString()}A-1007,2026-11-27,y@example.com,Y,2,EUR,standard\n`);
    await h.invoke(h.sqsEvent(h.bodyOf(newer)));
    // the older version's bytes are gone from the unversioned emulator bucket; its event still arrives late
    await h.invoke(h.sqsEvent(h.bodyOf(older)));
    expect(await h.ledger.latestPublished(h.buckets.inbound, 'acme/orders/late.csv')).toMatchObject({ etag: newer.etag });
  });
});

describe('crashes, each followed by redelivery', () => {
  // A crash anywhere in an attempt, as the ports see it: a call that never happens (before) or one
  // whose effect happened but whose answer was lost (after). Calls in the order an attempt makes them.
  // Once the final status is recorded, the pointer and the event are tried again in the same attempt;
  // a lost answer from the bus (or from the note that the event went out) sends the event again, the same.
  const cases: { call: PortCall; timing: FaultTiming; attempts: number; redelivered: boolean; events: number }[] = [
    { call: 'ledger.claim', timing: 'after', attempts: 2, redelivered: true, events: 1 },
    { call: 'ledger.latestPublished', timing: 'before', attempts: 2, redelivered: true, events: 1 },
    { call: 'store.open', timing: 'before', attempts: 2, redelivered: true, events: 1 },
    { call: 'store.commit', timing: 'before', attempts: 2, redelivered: true, events: 1 },
    { call: 'store.commit', timing: 'after', attempts: 2, redelivered: true, events: 1 },
    { call: 'store.abort', timing: 'before', attempts: 2, redelivered: true, events: 1 },
    { call: 'store.put', timing: 'before', attempts: 2, redelivered: true, events: 1 },
    { call: 'store.put', timing: 'after', attempts: 2, redelivered: true, events: 1 },
    { call: 'ledger.complete', timing: 'before', attempts: 2, redelivered: true, events: 1 },
    { call: 'ledger.complete', timing: 'after', attempts: 1, redelivered: true, events: 1 },
    { call: 'ledger.publishLatest', timing: 'before', attempts: 1, redelivered: false, events: 1 },
    { call: 'ledger.publishLatest', timing: 'after', attempts: 1, redelivered: false, events: 1 },
    { call: 'events.publish', timing: 'before', attempts: 1, redelivered: false, events: 1 },
    { call: 'events.publish', timing: 'after', attempts: 1, redelivered: false, events: 2 },
    { call: 'ledger.markEventSent', timing: 'before', attempts: 1, redelivered: false, events: 2 },
    { call: 'ledger.markEventSent', timing: 'after', attempts: 1, redelivered: false, events: 2 },
  ];
  for (const { call, timing, attempts, redelivered, events: sent } of cases) {
    it(`a crash ${timing} ${call}: one output, the right final status, one event id, nothing lost`, async () => {
      const object = await h.upload(`acme/orders/crash-${timing}-${call}.csv`, ORDERS_CSV);
      const body = h.bodyOf(object);
      h.faults.arm(call, timing);
      h.stepFailures.length = 0;
      const first = h.sqsEvent(body);
      // a lost claim answer leaves the claim to its lease: keep that lease short
      const failed = (await h.invoke(first, call === 'ledger.claim' ? 3000 : undefined)).batchItemFailures;
      if (redelivered) {
        expect(failed).toEqual([{ itemIdentifier: first.Records[0]!.messageId }]);
        expect(String(h.failures.at(-1))).toContain(`injected fault ${timing} ${call}`);
        expect((await h.invoke(h.sqsEvent(body))).batchItemFailures).toEqual([]);
        expect(h.stepFailures).toEqual([]);
      } else {
        expect(failed).toEqual([]);
        expect(h.stepFailures).toEqual([
          { step: 'publish', key: object.key, error: expect.objectContaining({ message: expect.stringContaining(`${timing} ${call}`) }) },
        ]);
      }
      const history = await h.ledger.history(h.buckets.inbound, object.key);
      expect(history).toHaveLength(1);
      expect(history[0]).toMatchObject({ status: 'SUCCEEDED', rowsOut: 5, attempts, eventSent: true });
      expect(history[0]!.leaseUntil).toBeUndefined();
      expect((await h.listKeys(h.buckets.output)).filter((k) => k.includes(`/crash-${timing}-${call}.`))).toHaveLength(2); // output, manifest
      const events = h.events.events.filter((e) => e.detail.key === object.key);
      expect(new Set(events.map((e) => e.detail.eventId))).toEqual(new Set([eventIdOf(object, attempts)]));
      expect(new Set(events.map((e) => JSON.stringify(e))).size).toBe(1);
      expect(events).toHaveLength(sent);
      expect(await h.ledger.latestPublished(h.buckets.inbound, object.key)).toMatchObject({ etag: object.etag });
    });
  }

  it('on the last delivery, a lost answer from the final write never unpublishes the version that succeeded', async () => {
    const object = await h.upload('acme/orders/last-lost-answer.csv', ORDERS_CSV);
    h.faults.arm('ledger.complete', 'after');
    const last = h.lastDelivery(h.bodyOf(object));
    expect((await h.invoke(last, 3000)).batchItemFailures).toEqual([{ itemIdentifier: last.Records[0]!.messageId }]);
    const [record] = await h.ledger.history(h.buckets.inbound, object.key);
    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
    expect((await h.read(h.buckets.output, record!.outputKey!)).split('\n').filter(Boolean)).toHaveLength(5);
    // the message is in the dead-letter queue; redriven (a first delivery again), it sends the event once the lease has ended
    expect(h.events.events.filter((e) => e.detail.key === object.key)).toHaveLength(0);
    expect((await h.invoke(h.sqsEvent(h.bodyOf(object)))).batchItemFailures).toEqual([]);
    expect(h.events.events.filter((e) => e.detail.key === object.key).map((e) => e.detail.status)).toEqual(['SUCCEEDED']);
  });

  it('on the last delivery, a failed attempt ends FAILED with its event and leaves nothing an earlier attempt uploaded', async () => {
    const object = await h.upload('acme/orders/last-fails.csv', ORDERS_CSV);
    h.faults.arm('store.put', 'after'); // attempt 1 uploads output, rejects and manifest, then fails
    expect((await h.invoke(h.sqsEvent(h.bodyOf(object)))).batchItemFailures).toHaveLength(1);
    expect((await h.listKeys(h.buckets.output)).filter((k) => k.includes('/last-fails.'))).not.toEqual([]);
    h.faults.arm('store.open', 'before');
    expect((await h.invoke(h.lastDelivery(h.bodyOf(object)))).batchItemFailures).toHaveLength(1);
    const [record] = await h.ledger.history(h.buckets.inbound, object.key);
    expect(record).toMatchObject({
      status: 'FAILED',
      attempts: 2,
      rowsIn: 0,
      errors: [expect.objectContaining({ code: 'RETRIES_EXHAUSTED' })],
    });
    expect((await h.listKeys(h.buckets.output)).filter((k) => k.includes('/last-fails.'))).toEqual([]);
    expect((await h.listKeys(h.buckets.rejects)).filter((k) => k.includes('/last-fails.'))).toEqual([]);
    const events = h.events.events.filter((e) => e.detail.key === object.key);
    expect(events.map((e) => [e.detailType, e.detail.eventId])).toEqual([['FileFailed', eventIdOf(object, 2)]]);
  });

  it('a FAILED version whose event a redelivery sends keeps its own rejects and summary (found by npm run chaos)', async () => {
    const header = ORDERS_CSV.toString('utf8').split('\n')[0]!;
    const object = await h.upload(
      'acme/orders/failed-heal.csv',
      Buffer.from(`${header}\nA-1,2026-11-27,a@example.com,A,twelve,eur,standard\n`),
    );
    // the attempt records FAILED, then the note that its event went out fails (every time the attempt tries it)
    h.faults.arm('ledger.markEventSent', 'before', 1 + STEP_TRIES);
    expect((await h.invoke(h.sqsEvent(h.bodyOf(object)))).batchItemFailures).toHaveLength(1);
    const [failed] = await h.ledger.history(h.buckets.inbound, object.key);
    expect(failed).toMatchObject({ status: 'FAILED', rowsRejected: 1 });
    expect(failed!.eventSent ?? false).toBe(false);
    expect(failed!.summaryKey).toBeTruthy();
    expect(failed!.rejectsKey).toBeTruthy();
    // the redelivery finds the final status and only sends the event
    expect((await h.invoke(h.sqsEvent(h.bodyOf(object)))).batchItemFailures).toEqual([]);
    const [record] = await h.ledger.history(h.buckets.inbound, object.key);
    expect(record).toMatchObject({ status: 'FAILED', attempts: 1, eventSent: true });
    expect(JSON.parse(await h.read(h.buckets.rejects, record!.summaryKey!))).toMatchObject({ status: 'FAILED', rowsRejected: 1 });
    expect((await h.read(h.buckets.rejects, record!.rejectsKey!)).split('\n').filter(Boolean)).toHaveLength(1);
    expect((await h.listKeys(h.buckets.output)).filter((k) => k.includes('/failed-heal.'))).toEqual([]);
  });

  it("a cleanup that fails after a failed attempt is reported to telemetry, and the attempt's own error decides", async () => {
    const object = await h.upload('acme/orders/cleanup-fails.csv', ORDERS_CSV);
    h.stepFailures.length = 0;
    h.faults.arm('store.open', 'before');
    h.faults.arm('ledger.release', 'before');
    const first = h.sqsEvent(h.bodyOf(object));
    expect((await h.invoke(first, 3000)).batchItemFailures).toEqual([{ itemIdentifier: first.Records[0]!.messageId }]);
    expect(String(h.failures.at(-1))).toContain('injected fault before store.open');
    expect(h.stepFailures).toEqual([
      { step: 'release-claim', key: object.key, error: expect.objectContaining({ message: expect.stringContaining('ledger.release') }) },
    ]);
    // the claim was not given back: the redelivery claims once the (short) lease has ended
    expect((await h.invoke(h.sqsEvent(h.bodyOf(object)))).batchItemFailures).toEqual([]);
    expect((await h.ledger.history(h.buckets.inbound, object.key))[0]).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
  });

  it('a timed-out attempt (no release) blocks the file only until its lease ends', async () => {
    const object = await h.upload('acme/orders/lease.csv', ORDERS_CSV);
    const claim = await h.ledger.claim(object, { partner: 'acme', feed: 'orders', requestId: 'dead-invocation', leaseMs: 300 });
    expect(claim.kind).toBe('claimed');
    await new Promise((r) => setTimeout(r, 400));
    expect((await h.invoke(h.sqsEvent(h.bodyOf(object)))).batchItemFailures).toEqual([]);
    const [record] = await h.ledger.history(h.buckets.inbound, object.key);
    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    expect(record!.history.map((a) => a.requestId)[0]).toBe('dead-invocation');
  });
});

describe('poison records in a batch of good ones', () => {
  it('reports only the poison records; a missing object ends FAILED with a clear code', async () => {
    const good = await h.upload('acme/orders/good-in-batch.csv', ORDERS_CSV);
    const gone = await h.upload('acme/orders/gone.csv', ORDERS_CSV);
    await h.emulators.s3.send(new DeleteObjectCommand({ Bucket: h.buckets.inbound, Key: gone.key }));
    const unknownFeed = await h.upload('nobody/files/x.csv', ORDERS_CSV);
    const otherBucket = { ...good, bucket: 'someone-elses-bucket' };
    const event = h.sqsEvent('not json at all', h.bodyOf(good), h.bodyOf(otherBucket), h.bodyOf(unknownFeed), h.bodyOf(gone));
    const result = await h.invoke(event);
    const ids = event.Records.map((r) => r.messageId);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: ids[0] }, { itemIdentifier: ids[2] }, { itemIdentifier: ids[3] }]);
    expect((await h.ledger.history(h.buckets.inbound, good.key))[0]!.status).toBe('SUCCEEDED');
    const [missing] = await h.ledger.history(h.buckets.inbound, gone.key);
    expect(missing).toMatchObject({ status: 'FAILED', errors: [expect.objectContaining({ code: 'OBJECT_NOT_FOUND' })] });
    expect(await h.ledger.history(h.buckets.inbound, unknownFeed.key)).toEqual([]);
    expect(String(h.failures.at(-1))).toContain('UNKNOWN_FEED');
  });

  it('refuses a file over maxFileMiB from the event size without reading it', async () => {
    const object = await h.upload('acme/orders/huge.csv', 'order_id\n');
    const claimed = { ...object, size: 3 * 1024 * 1024 * 1024 };
    await h.invoke(h.sqsEvent(h.bodyOf(claimed)));
    const [record] = await h.ledger.history(h.buckets.inbound, object.key);
    expect(record).toMatchObject({ status: 'FAILED', errors: [expect.objectContaining({ code: 'TOO_LARGE' })] });
  });
});

describe('columns the mapping reads', () => {
  it('a file whose header lacks one FAILS with MISSING_COLUMNS naming it and the closest header name, and publishes nothing', async () => {
    const csv = 'customer_id,first_name,last_name,e-mail,country,signup_date,marketing_opt_in,tags\nC1,A,B,a@b.c,de,2024-01-01,Y,\n';
    const object = await h.upload('acme/customers/renamed.csv', Buffer.from(csv));
    expect((await h.invoke(h.sqsEvent(h.bodyOf(object)))).batchItemFailures).toEqual([]);
    const [record] = await h.ledger.history(h.buckets.inbound, object.key);
    expect(record).toMatchObject({ status: 'FAILED', rowsIn: 0, rowsOut: 0 });
    expect(record!.outputKey).toBeUndefined();
    expect(record!.errors?.[0]).toMatchObject({ code: 'MISSING_COLUMNS', line: 1 });
    expect(record!.errors?.[0]?.message).toContain('"email" (read by the mapping; closest header name: "e-mail")');
    expect(h.events.events.find((e) => e.detail.key === object.key)).toMatchObject({ detailType: 'FileFailed' });
  });
});

describe('sockets', () => {
  const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

  it('40 early exits in a row leak no socket: the open sockets stay as few as before', async () => {
    const big = Buffer.concat([Buffer.from('wrong,header\n'), Buffer.alloc(2 * 1024 * 1024, 'x,y\n')]);
    const object = await h.upload('acme/orders/bad-header.csv', big);
    const before = sockets();
    for (let i = 0; i < 40; i++) {
      const version = { ...object, sequencer: `${object.sequencer}${String(i).padStart(4, '0')}` };
      await h.invoke(h.sqsEvent(h.bodyOf(version)));
    }
    const history = await h.ledger.history(h.buckets.inbound, object.key);
    expect(history).toHaveLength(40);
    expect(history.every((r) => r.status === 'FAILED' && r.errors?.[0]?.code === 'MISSING_COLUMNS')).toBe(true);
    // A body left unread holds its socket, client and emulator side: 80 more (and past 50 the client's
    // pool is exhausted and calls hang). Keep-alive reuse leaves a handful.
    expect(sockets() - before).toBeLessThan(20);
    const good = await h.upload('acme/orders/after-leaks.csv', ORDERS_CSV);
    expect((await h.invoke(h.sqsEvent(h.bodyOf(good)))).batchItemFailures).toEqual([]);
  }, 120_000);
});
