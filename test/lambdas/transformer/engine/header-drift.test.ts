import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { FieldMappingConfig } from '../../../../lambdas/transformer/model.js';
import {
  describeHeaderDrift,
  detectHeaderDrift,
  MAX_DRIFT_LIST_CHARS,
  MAX_DRIFT_NAME_CHARS,
} from '../../../../lambdas/transformer/engine/header-drift.js';
import { chunkFeed, chunkStart, combineChunks, planSplit } from '../../../../lambdas/transformer/engine/split.js';
import { compileFeed, transformFile } from '../../../../lambdas/transformer/engine/transform.js';
import { makeFeed, runEngine } from '../../../support/engine.js';

const fields = (map: Record<string, string>): { kind: 'fields'; fields: FieldMappingConfig[] } => ({
  kind: 'fields',
  fields: Object.entries(map).map(([name, expression]) => ({ name, path: name.split('.'), expression })),
});

const CSV = (columns?: string[], optionalColumns?: string[]) => ({
  delimiter: ',',
  quote: '"',
  escape: '"',
  encoding: 'utf-8' as const,
  header: true,
  skipLines: 0,
  trim: false,
  nullValues: [''],
  ...(columns ? { columns } : {}),
  ...(optionalColumns ? { optionalColumns } : {}),
});

describe('detectHeaderDrift', () => {
  it('finds nothing when the header is the declared columns in their order', () => {
    expect(detectHeaderDrift(['id', 'amount'], CSV(['id', 'amount']), ['id', 'amount'])).toBeUndefined();
  });

  it('finds a rename by case, spacing and punctuation as normalised, and one by a typo as fuzzy', () => {
    const drift = detectHeaderDrift(['Order ID', 'ammount', 'currency'], CSV(['order_id', 'amount', 'currency']), ['order_id', 'amount']);
    expect(drift).toEqual({
      header: ['Order ID', 'ammount', 'currency'],
      renamed: [
        { from: 'order_id', to: 'Order ID', match: 'normalised' },
        { from: 'amount', to: 'ammount', match: 'fuzzy' },
      ],
      added: [],
      missing: [],
      reordered: false,
    });
  });

  it('lists added columns (against declared columns), missing columns with no close name, and a new order', () => {
    const drift = detectHeaderDrift(['amount', 'id', 'coupon'], CSV(['id', 'amount', 'shipping_zone']), ['id', 'amount']);
    expect(drift).toMatchObject({ renamed: [], added: ['coupon'], missing: ['shipping_zone'], reordered: true });
  });

  it('without declared columns, judges only the columns the mapping reads: other header names are not "added"', () => {
    expect(detectHeaderDrift(['id', 'amount', 'extra'], CSV(), ['id', 'amount'])).toBeUndefined();
    expect(detectHeaderDrift(['ID', 'amount', 'extra'], CSV(), ['id', 'amount'])).toMatchObject({
      renamed: [{ from: 'id', to: 'ID', match: 'normalised' }],
      added: [],
      reordered: false,
    });
  });

  it('never calls an absent optional column missing, but finds it renamed', () => {
    expect(detectHeaderDrift(['id'], CSV(['id'], ['note']), ['id', 'note'])).toBeUndefined();
    expect(detectHeaderDrift(['id', 'NOTE'], CSV(['id'], ['note']), ['id', 'note'])).toMatchObject({
      renamed: [{ from: 'note', to: 'NOTE' }],
      missing: [],
    });
  });

  it('has nothing to say about a feed without a header', () => {
    expect(detectHeaderDrift(['x', 'y'], { ...CSV(['id', 'amount']), header: false }, ['id'])).toBeUndefined();
  });

  it('a header of hostile size is cut to its bounds and says so; names are never keys of an object', () => {
    const header = Array.from({ length: 5000 }, (_, i) => `${'x'.repeat(200)}${i}`);
    const drift = detectHeaderDrift([...header, '__proto__', 'constructor'], CSV(['id']), ['id'])!;
    expect(drift.truncated).toBe(true);
    for (const list of [drift.header, drift.added]) {
      expect(list.reduce((n, name) => n + name.length, 0)).toBeLessThanOrEqual(MAX_DRIFT_LIST_CHARS + 3 * list.length);
      for (const name of list) expect(name.length).toBeLessThanOrEqual(MAX_DRIFT_NAME_CHARS + 3);
    }
    expect(drift.missing).toEqual(['id']);
    expect(Object.getPrototypeOf(drift)).toBe(Object.prototype);
    const small = detectHeaderDrift(['id', '__proto__', 'constructor'], CSV(['id']), ['id'])!;
    expect(small.added).toEqual(['__proto__', 'constructor']);
    expect(small.truncated).toBeUndefined();
  });

  it('describes the drift in one line with the suggested change, listing at most 10 names a category', () => {
    const drift = detectHeaderDrift(['Order ID', 'amount', 'coupon'], CSV(['order_id', 'amount']), ['order_id', 'amount'])!;
    expect(describeHeaderDrift(drift, true)).toBe(
      'the header differs from the feed\'s csv.columns: renamed: "order_id" -> "Order ID"; added: "coupon"; ' +
        'suggested: rename them in csv.columns and the mapping, add the new columns to csv.columns and map them (partner-etl drift <key> prints the patch)',
    );
    const many = detectHeaderDrift(['id', ...Array.from({ length: 25 }, (_, i) => `new${i}`)], CSV(['id']), ['id'])!;
    expect(describeHeaderDrift(many, true)).toContain('"new9" and 15 more');
  });
});

describe('HEADER_DRIFT in a file outcome', () => {
  const feed = makeFeed({
    csv: { columns: ['id', 'amount'] },
    mapping: fields({ id: 'id', amount: '$number(amount)' }),
  });

  it('an added and reordered column: SUCCEEDED with every row, and a warning on the header line', async () => {
    const run = await runEngine(feed, 'amount,id,coupon\n1,A,x\n2,B,y\n');
    expect(run.outcome).toMatchObject({ status: 'SUCCEEDED', rowsIn: 2, rowsOut: 2, errors: [] });
    expect(run.outcome.warnings).toEqual([
      {
        code: 'HEADER_DRIFT',
        line: 1,
        message: expect.stringContaining('added: "coupon"; reordered'),
        drift: { header: ['amount', 'id', 'coupon'], renamed: [], added: ['coupon'], missing: [], reordered: true },
      },
    ]);
  });

  it('a renamed required column still FAILS with MISSING_COLUMNS, and the warning carries the rename', async () => {
    const run = await runEngine(feed, 'ID,amount\nA,1\n');
    expect(run.outcome.status).toBe('FAILED');
    expect(run.outcome.errors[0]).toMatchObject({ code: 'MISSING_COLUMNS' });
    expect(run.outcome.warnings?.[0]?.drift.renamed).toEqual([{ from: 'id', to: 'ID', match: 'normalised' }]);
  });

  it('a renamed optional column: SUCCEEDED, the field absent, and the warning names the rename', async () => {
    const optional = makeFeed({
      csv: { columns: ['id'], optionalColumns: ['note'] },
      mapping: fields({ id: 'id', note: 'note' }),
    });
    const run = await runEngine(optional, 'id,Note\nA,hello\n');
    expect(run.outcome.status).toBe('SUCCEEDED');
    expect(run.records).toEqual([{ id: 'A' }]);
    expect(run.outcome.warnings?.[0]?.drift).toMatchObject({ renamed: [{ from: 'note', to: 'Note' }], added: [] });
  });

  it('a file as expected carries no warnings key at all', async () => {
    const run = await runEngine(feed, 'id,amount\nA,1\n');
    expect(run.outcome).not.toHaveProperty('warnings');
  });

  it('a split run carries the warning its first chunk read from the header, once', async () => {
    const compiled = compileFeed(feed);
    const rows = Array.from({ length: 200 }, (_, i) => `${i},R${i},c`).join('\n');
    const bytes = Buffer.from(`amount,id,coupon\n${rows}\n`);
    const plan = await planSplit(compiled, Readable.from([bytes]), bytes.length, 500);
    expect(plan.chunks.length).toBeGreaterThan(2);
    const outcomes = [];
    for (const chunk of plan.chunks) {
      const start = chunkStart(plan, chunk);
      outcomes.push(
        await transformFile(chunkFeed(compiled), {
          key: 'k',
          input: Readable.from([bytes.subarray(chunk.start, chunk.end)]),
          output: new PassThrough().resume(),
          rejects: new PassThrough().resume(),
          ...(start ? { start } : {}),
        }),
      );
    }
    expect(outcomes.slice(1).every((o) => o.warnings === undefined)).toBe(true);
    const { outcome } = combineChunks(feed, 'k', outcomes, { durationMs: 0 });
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', rowsIn: 200 });
    expect(outcome.warnings).toHaveLength(1);
    expect(outcome.warnings?.[0]?.drift.added).toEqual(['coupon']);
  });
});
