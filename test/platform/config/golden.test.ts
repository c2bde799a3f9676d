import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findGoldenCases, runGoldenCase } from '../../../platform/config/golden.js';
import { requireValidConfig } from '../../../platform/config/load-config.js';
import { makeConfigRoot, validFiles } from '../../support/config-root.js';

const REPO = join(import.meta.dirname, '../../..');
const cases = findGoldenCases(REPO, requireValidConfig(REPO));

describe('golden samples of every feed', () => {
  it('covers every sample feed, with at least one PARTIAL case', async () => {
    expect(new Set(cases.map((c) => `${c.feed.partner}/${c.feed.id}`))).toEqual(
      new Set(['acme/orders', 'acme/customers', 'globex/shipments', 'muller/invoices']),
    );
  });

  for (const c of cases) {
    it(`${c.csv} produces ${c.expected}`, async () => {
      const result = await runGoldenCase(REPO, c);
      expect(result.differences).toEqual([]);
      expect(result.outcome.rowsIn).toBe(result.outcome.rowsOut + result.outcome.rowsRejected);
    });
  }

  it('has a sample that ends PARTIAL', async () => {
    const statuses = await Promise.all(cases.map(async (c) => (await runGoldenCase(REPO, c)).outcome.status));
    expect(statuses).toContain('PARTIAL');
  });
});

describe('the golden runner', () => {
  it('reports the first differing line of a wrong expected output', async () => {
    const root = makeConfigRoot({
      ...validFiles(),
      'mappings/acme/orders/samples/day.csv': 'id,amount\nA,1\nB,2\n',
      'mappings/acme/orders/samples/day.expected.ndjson': '{"id":"A","amount":1}\n{"id":"B","amount":3}\n',
    });
    const [c] = findGoldenCases(root, requireValidConfig(root));
    const result = await runGoldenCase(root, c!);
    expect(result.differences).toEqual([
      'mappings/acme/orders/samples/day.expected.ndjson:2: expected {"id":"B","amount":3}\n' +
        '                                                    got      {"id":"B","amount":2}',
    ]);
  });

  it('fails a sample whose rejects are not expected', async () => {
    const root = makeConfigRoot({
      ...validFiles(),
      'mappings/acme/orders/samples/day.csv': 'id,amount\nA,x\n',
      'mappings/acme/orders/samples/day.expected.ndjson': '',
    });
    const [c] = findGoldenCases(root, requireValidConfig(root));
    const result = await runGoldenCase(root, c!);
    expect(result.outcome.status).toBe('FAILED');
    expect(result.differences[0]).toContain('the sample FAILED (TOO_MANY_REJECTS');
    expect(result.differences[1]).toContain('day.expected-rejects.ndjson:1: unexpected extra line {"line":2');
  });
});
