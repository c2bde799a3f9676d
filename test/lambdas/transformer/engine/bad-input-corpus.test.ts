import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listFeeds, type FieldMappingConfig } from '../../../../lambdas/transformer/model.js';
import { outputKeys } from '../../../../lambdas/transformer/output-keys.js';
import { findGoldenCases } from '../../../../platform/config/golden.js';
import { requireValidConfig } from '../../../../platform/config/load-config.js';
import { makeFeed, runEngine } from '../../../support/engine.js';

const REPO = join(import.meta.dirname, '../../../..');
const config = requireValidConfig(REPO);

const fields = (map: Record<string, string>): { kind: 'fields'; fields: FieldMappingConfig[] } => ({
  kind: 'fields',
  fields: Object.entries(map).map(([name, expression]) => ({ name, path: name.split('.'), expression })),
});

/** A strict feed: id and amount required, no rejects allowed. */
const strict = makeFeed({
  mapping: fields({ id: 'id', amount: '$number(amount)', note: 'note' }),
  schema: { type: 'object', required: ['id', 'amount'], properties: { id: { type: 'string' }, amount: { type: 'number' } } },
  errors: { maxRejectedPercent: 0 },
});
const lenient = makeFeed({ ...strict, errors: { maxRejectedPercent: 100 } });
const utf16le = (s: string) => Buffer.from(s, 'utf16le');
const utf16be = (s: string) => Buffer.from(s, 'utf16le').swap16();
const GOOD = 'id,amount,note\nA,1,x\nB,2,y\n';

interface Case {
  readonly name: string;
  readonly input: string | Buffer;
  readonly feed?: typeof strict;
  readonly status: 'SUCCEEDED' | 'PARTIAL' | 'FAILED';
  /** The size the platform knows from the event, when given. */
  readonly sizeBytes?: number;
  readonly rowsIn: number;
  readonly rowsOut: number;
  /** The first error's code and line, when there is one. */
  readonly error?: { code: string; line?: number; message?: RegExp };
}

const CASES: Case[] = [
  { name: 'an empty file', input: '', status: 'FAILED', rowsIn: 0, rowsOut: 0, error: { code: 'EMPTY_FILE' } },
  { name: 'a header only', input: 'id,amount,note\n', status: 'SUCCEEDED', rowsIn: 0, rowsOut: 0 },
  { name: 'a header without a line break', input: 'id,amount,note', status: 'SUCCEEDED', rowsIn: 0, rowsOut: 0 },
  {
    name: 'only a UTF-8 BOM',
    input: Buffer.from([0xef, 0xbb, 0xbf]),
    status: 'FAILED',
    rowsIn: 0,
    rowsOut: 0,
    error: { code: 'EMPTY_FILE' },
  },
  {
    name: 'a UTF-8 BOM',
    input: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(GOOD)]),
    status: 'SUCCEEDED',
    rowsIn: 2,
    rowsOut: 2,
  },
  { name: 'a UTF-16LE BOM', input: Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le(GOOD)]), status: 'SUCCEEDED', rowsIn: 2, rowsOut: 2 },
  { name: 'a UTF-16BE BOM', input: Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(GOOD)]), status: 'SUCCEEDED', rowsIn: 2, rowsOut: 2 },
  {
    name: 'UTF-16LE without a BOM, declared',
    input: utf16le(GOOD),
    feed: makeFeed({ ...strict, csv: { encoding: 'utf-16le' } }),
    status: 'SUCCEEDED',
    rowsIn: 2,
    rowsOut: 2,
  },
  {
    name: 'UTF-16LE without a BOM, declared UTF-8 (recognised by its NUL bytes)',
    input: utf16le(GOOD),
    status: 'FAILED',
    rowsIn: 0,
    rowsOut: 0,
    error: { code: 'ENCODING_ERROR', line: 1, message: /looks like UTF-16LE without a byte-order mark.*set csv\.encoding: utf-16le/ },
    feed: makeFeed({ ...strict, csv: { columns: ['id', 'amount'] } }),
  },
  {
    name: 'invalid UTF-8 on line 3 (the rows before it are read, however the bytes are chunked)',
    input: Buffer.concat([Buffer.from('id,amount,note\nA,1,x\nB,2,'), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]),
    status: 'FAILED',
    rowsIn: 1,
    rowsOut: 1,
    error: { code: 'ENCODING_ERROR', line: 3, message: /byte 25 \(line 3\)/ },
  },
  { name: 'mixed line endings', input: 'id,amount,note\r\nA,1,x\nB,2,y\rC,3,z\r\n', status: 'SUCCEEDED', rowsIn: 3, rowsOut: 3 },
  { name: 'no final line break', input: 'id,amount,note\nA,1,x\nB,2,y', status: 'SUCCEEDED', rowsIn: 2, rowsOut: 2 },
  {
    name: 'an unclosed quote on the last line',
    input: 'id,amount,note\nA,1,x\nB,2,"open\n',
    status: 'FAILED',
    rowsIn: 2,
    rowsOut: 1,
    error: { code: 'TOO_MANY_REJECTS' },
  },
  {
    name: 'a 10 MB field',
    input: `id,amount,note\nA,1,"${'x'.repeat(10 * 1024 * 1024)}"\nB,2,y\n`,
    feed: lenient,
    status: 'PARTIAL',
    rowsIn: 2,
    rowsOut: 1,
    error: { code: 'CSV_MALFORMED', line: 2, message: /longer than 1048576 characters/ },
  },
  {
    name: 'wrong field counts',
    input: 'id,amount,note\nA,1\nB,2,y,extra\nC,3,z\n',
    feed: lenient,
    status: 'PARTIAL',
    rowsIn: 3,
    rowsOut: 1,
    error: { code: 'CSV_MALFORMED', line: 2, message: /expected 3 fields, got 2/ },
  },
  {
    name: 'a duplicate header',
    input: 'id,amount,id\nA,1,B\n',
    status: 'FAILED',
    rowsIn: 0,
    rowsOut: 0,
    error: { code: 'CSV_MALFORMED', line: 1 },
  },
  {
    name: '__proto__ and constructor headers',
    input: 'id,amount,note,__proto__,constructor\nA,1,x,{"polluted":true},C\n',
    status: 'SUCCEEDED',
    rowsIn: 1,
    rowsOut: 1,
  },
  { name: 'formula-looking cells', input: 'id,amount,note\n=1+1,1,@SUM(A1)\n', status: 'SUCCEEDED', rowsIn: 1, rowsOut: 1 },
  {
    name: 'a file over the size limit',
    input: `id,amount,note\n${'A,1,x\n'.repeat(200_000)}`,
    sizeBytes: 15 + 6 * 200_000,
    feed: makeFeed({ ...strict, maxFileMiB: 1 }),
    status: 'FAILED',
    rowsIn: 0,
    rowsOut: 0,
    error: { code: 'TOO_LARGE' },
  },
  {
    name: 'a runaway expression',
    input: GOOD,
    feed: makeFeed({ ...lenient, mapping: fields({ id: '( $f := function($n) { $f($n + 1) }; $f(0) )', amount: '1' }) }),
    status: 'PARTIAL',
    rowsIn: 2,
    rowsOut: 0,
    error: { code: 'MAPPING_ERROR', line: 2, message: /D1011|D1012/ },
  },
  {
    name: 'a schema violation on every row',
    input: 'id,amount,note\nA,x,1\nB,y,2\n',
    feed: makeFeed({ ...strict, mapping: fields({ id: 'id', amount: 'amount' }) }),
    status: 'FAILED',
    rowsIn: 2,
    rowsOut: 0,
    error: { code: 'TOO_MANY_REJECTS' },
  },
];

describe('the bad-input corpus: each case with its exact outcome', () => {
  for (const c of CASES) {
    it(
      c.name,
      async () => {
        const run = await runEngine(c.feed ?? strict, c.input, {
          chunkSize: 4096,
          ...(c.sizeBytes === undefined ? {} : { sizeBytes: c.sizeBytes }),
        });
        const o = run.outcome;
        expect({ status: o.status, rowsIn: o.rowsIn, rowsOut: o.rowsOut }).toEqual({
          status: c.status,
          rowsIn: c.rowsIn,
          rowsOut: c.rowsOut,
        });
        expect(o.rowsIn).toBe(o.rowsOut + o.rowsRejected);
        if (c.error) {
          expect(o.errors[0]).toMatchObject({ code: c.error.code, ...(c.error.line === undefined ? {} : { line: c.error.line }) });
          if (c.error.message) expect(o.errors[0]!.message).toMatch(c.error.message);
        } else {
          expect(o.errors).toEqual([]);
        }
      },
      30_000,
    );
  }

  it('keeps __proto__, constructor and formula-looking values verbatim and pollutes nothing', async () => {
    const feed = makeFeed({ mapping: { kind: 'expression', file: 'id.jsonata', expression: '$' } });
    const run = await runEngine(feed, 'id,__proto__,constructor,f\nA,{"polluted":true},C,=HYPERLINK("x")\n');
    // JSON.parse: an object literal's __proto__ would set the prototype instead of a key
    expect(run.records).toEqual([JSON.parse('{"id":"A","__proto__":"{\\"polluted\\":true}","constructor":"C","f":"=HYPERLINK(\\"x\\")"}')]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each(['acme/orders/my file.csv', 'acme/orders/a+b%20c.csv', 'acme/orders/ü-数据.csv', 'acme/orders/../../etc/passwd.csv'])(
    'binds the key %s verbatim as $source.key and keeps its output under the feed prefix',
    async (key) => {
      const feed = makeFeed({ mapping: fields({ key: '$source.key' }) });
      const run = await runEngine(feed, 'a\n1\n', { key });
      expect(run.records).toEqual([{ key }]);
      const keys = outputKeys(feed, key, 'v1', new Date('2026-11-27T00:00:00Z'));
      for (const k of Object.values(keys)) {
        expect(k.startsWith('test/partner=test/feed=feed/date=2026-11-27/') || k.startsWith('test/feed/date=2026-11-27/')).toBe(true);
        expect(k.split('/').some((segment: string) => segment === '..')).toBe(false);
      }
    },
  );
});

describe('fuzzing: random bytes and mutations of every sample file, against every sample feed', () => {
  const samples = findGoldenCases(REPO, config).map((c) => readFileSync(join(REPO, c.csv)));
  const feeds = listFeeds(config);
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 8 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  );
  type Mutation = { kind: string; at: number; byte?: number; bytes?: Uint8Array; length?: number };
  const mutate = (input: Buffer, ms: readonly Mutation[]) => {
    let b = Buffer.from(input);
    for (const m of ms) {
      const at = b.length === 0 ? 0 : m.at % (b.length + 1);
      if (m.kind === 'flip' && at < b.length) b[at] = m.byte!;
      if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes!), b.subarray(at)]);
      if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.length!)]);
      if (m.kind === 'truncate') b = b.subarray(0, at);
    }
    return b;
  };

  const input = fc.oneof(
    fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
    fc
      .tuple(fc.nat({ max: samples.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }))
      .map(([i, ms]) => mutate(samples[i]!, ms)),
  );

  it('never throws, never hangs, always gives a status whose counts add up', async () => {
    await fc.assert(
      fc.asyncProperty(input, fc.nat({ max: feeds.length - 1 }), fc.integer({ min: 1, max: 300 }), async (bytes, f, chunk) => {
        const run = await runEngine(feeds[f]!, bytes, {
          chunkSize: chunk,
          key: `${feeds[f]!.source.prefix}fuzz${feeds[f]!.source.suffix}`,
        });
        const o = run.outcome;
        expect(['SUCCEEDED', 'PARTIAL', 'FAILED']).toContain(o.status);
        expect(o.rowsIn).toBe(o.rowsOut + o.rowsRejected);
        expect(run.rejects).toHaveLength(o.rowsRejected);
        if (o.status !== 'FAILED') expect(run.records).toHaveLength(o.rowsOut);
        // a hang fails the test at its timeout; how fast it goes is the bench's business, not a test's
      }),
      { numRuns: 400 },
    );
  }, 120_000);
});
