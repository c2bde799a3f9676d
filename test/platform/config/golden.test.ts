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
  const sample = (expected: string) => {
    const root = makeConfigRoot({
      ...validFiles(),
      'mappings/acme/orders/samples/day.csv': 'id,amount\nA,1\nB,2\n',
      'mappings/acme/orders/samples/day.expected.ndjson': expected,
    });
    const [c] = findGoldenCases(root, requireValidConfig(root));
    return runGoldenCase(root, c!);
  };
  const EXACT = '{"id":"A","amount":1}\n{"id":"B","amount":2}\n';

  it('passes the output exactly as written, and keeps those bytes for the caller', async () => {
    const result = await sample(EXACT);
    expect(result.differences).toEqual([]);
    expect(result.actual.output.toString('utf8')).toBe(EXACT);
    expect(result.actual.rejects.length).toBe(0);
  });

  it('reports the first differing line of each side, with line and column, then each field that differs', async () => {
    const result = await sample('{"id":"A","amount":1}\n{"id":"B","amount":3}\n');
    expect(result.differences).toEqual([
      'mappings/acme/orders/samples/day.expected.ndjson:2:20: expected {"id":"B","amount":3}\n' +
        '                                                       got      {"id":"B","amount":2}\n' +
        '  record 2 (line 2) /amount: expected 3, got 2',
    ]);
  });

  it.each([
    ['a missing field', '{"id":"A"}\n{"id":"B","amount":2}\n', ['record 1 (line 1) /amount: expected no field, got 1']],
    ['an extra field', '{"id":"A","amount":1,"x":[1]}\n{"id":"B","amount":2}\n', ['record 1 (line 1) /x: expected [1], got no field']],
    [
      'key order',
      '{"amount":1,"id":"A"}\n{"id":"B","amount":2}\n',
      ['record 1 (line 1): the same values written differently (key order: expected amount, id; got id, amount)'],
    ],
    ['a record too many', `${EXACT}{"id":"C","amount":3}\n`, ['record 3 (line 3): expected {"id":"C","amount":3}, got no record']],
    [
      'a line that is not JSON',
      'oops\n{"id":"B","amount":2}\n',
      ['record 1 (line 1): expected oops, got {"id":"A","amount":1} (not JSON)'],
    ],
  ])('lists field differences for %s', async (_what, expected, fields) => {
    const [difference] = (await sample(expected)).differences;
    expect(difference!.split('\n').slice(2)).toEqual(fields.map((f) => `  ${f}`));
  });

  // Each of these passed the old runner, which parsed and re-serialised both sides and dropped blank lines.
  it.each([
    ['spacing the consumer would see', '{"id": "A", "amount": 1}\n{"id": "B", "amount": 2}\n', ':1:7: expected {"id": "A", "amount": 1}'],
    ['a missing final newline', EXACT.trimEnd(), ':2:22: expected {"id":"B","amount":2} (no newline at the end)'],
    ['CRLF line ends', EXACT.replaceAll('\n', '\r\n'), ':1:22: expected {"id":"A","amount":1}\\r\n'],
    ['a blank line', `${EXACT}\n`, ':3:1: expected \n'],
    ['a line too few', '{"id":"A","amount":1}\n', ':2:1: expected (end of file)\n'],
  ])('fails on %s', async (_what, expected, message) => {
    const [difference, ...more] = (await sample(expected)).differences;
    expect(more).toEqual([]);
    expect(difference).toContain(`day.expected.ndjson${message}`);
  });

  it('escapes control characters in what it prints', async () => {
    const [difference] = (await sample('{"id":"A\u001b[2J","amount":1}\n')).differences;
    expect(difference).toContain('expected {"id":"A\\u001b[2J","amount":1}');
    expect(difference).not.toContain('\u001b');
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
    expect(result.differences[1]).toContain('day.expected-rejects.ndjson:1:1: expected (end of file)\n');
    expect(result.differences[1]).toContain('got      {"line":2');
  });
});
