import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import type { FieldMappingConfig } from '../../../../lambdas/transformer/model.js';
import { Fallback } from '../../../../lambdas/transformer/engine/compile-jsonata.js';
import { FallbackCounter, mergeFallbacks } from '../../../../lambdas/transformer/engine/mapping.js';
import { compileFeed, transformFile } from '../../../../lambdas/transformer/engine/transform.js';
import { makeFeed, runEngine } from '../../../support/engine.js';

const fields = (map: Record<string, string>): { kind: 'fields'; fields: FieldMappingConfig[] } => ({
  kind: 'fields',
  fields: Object.entries(map).map(([name, expression]) => ({ name, path: name.split('.'), expression })),
});

const ORDERS_SCHEMA = {
  type: 'object',
  required: ['id', 'amount'],
  properties: { id: { type: 'string' }, amount: { type: 'number', minimum: 0 } },
};

describe('file outcome', () => {
  it('succeeds with every row out and counts that add up', async () => {
    const run = await runEngine(makeFeed(), 'a,b\n1,2\n3,4\n');
    expect(run.outcome).toMatchObject({ status: 'SUCCEEDED', rowsIn: 2, rowsOut: 2, rowsRejected: 0, errors: [] });
    expect(run.records).toEqual([
      { a: '1', b: '2' },
      { a: '3', b: '4' },
    ]);
  });

  it('treats a header-only file as SUCCEEDED with 0 rows', async () => {
    const run = await runEngine(makeFeed(), 'a,b\r\n');
    expect(run.outcome).toMatchObject({ status: 'SUCCEEDED', rowsIn: 0, rowsOut: 0 });
    expect(run.output).toBe('');
  });

  it('fails a 0-byte file with EMPTY_FILE', async () => {
    const run = await runEngine(makeFeed(), '');
    expect(run.outcome.status).toBe('FAILED');
    expect(run.outcome.errors).toEqual([{ code: 'EMPTY_FILE', message: 'the file is empty (0 bytes)' }]);
  });

  it('fails a file holding only a BOM and blank lines with EMPTY_FILE', async () => {
    const run = await runEngine(makeFeed(), '\ufeff\r\n\n');
    expect(run.outcome.errors[0]).toMatchObject({ code: 'EMPTY_FILE' });
  });

  it('fails with MISSING_COLUMNS naming every declared column the header lacks', async () => {
    const run = await runEngine(makeFeed({ csv: { columns: ['a', 'x', 'y'] } }), 'a,b\n1,2\n');
    expect(run.outcome.status).toBe('FAILED');
    expect(run.outcome.errors).toEqual([
      {
        code: 'MISSING_COLUMNS',
        message:
          'the header lacks columns "x" (declared in columns; no header name is close), "y" (declared in columns; no header name is close) (header: "a,b")',
        line: 1,
      },
    ]);
  });

  it('fails with MISSING_COLUMNS naming a column the mapping reads and the closest header name', async () => {
    const feed = makeFeed({ mapping: fields({ make: '`Aircraft Make`', model: '`Aircraft Model`', cost: '$number(`Cost Total $`)' }) });
    const run = await runEngine(feed, 'Aircraft Make,Aircraft Make Model,Cost Total $\nBOEING,737,100\n');
    expect(run.outcome).toMatchObject({ status: 'FAILED', rowsIn: 0, rowsOut: 0 });
    expect(run.outcome.errors).toEqual([
      {
        code: 'MISSING_COLUMNS',
        message:
          'the header lacks column "Aircraft Model" (read by the mapping; closest header name: "Aircraft Make Model"); ' +
          'a column files may lack goes in csv.optionalColumns (header: "Aircraft Make,Aircraft Make Model,Cost Total $")',
        line: 1,
      },
    ]);
    expect(run.output).toBe('');
  });

  it('runs a file lacking a column the mapping reads when the column is optional', async () => {
    const feed = makeFeed({
      mapping: fields({ id: 'id', note: '$exists(note) ? note : "-"' }),
      csv: { optionalColumns: ['note'] },
    });
    expect((await runEngine(feed, 'id\n1\n')).records).toEqual([{ id: '1', note: '-' }]);
    expect((await runEngine(feed, 'id,note\n1,x\n')).records).toEqual([{ id: '1', note: 'x' }]);
    expect((await runEngine(makeFeed({ mapping: fields({ id: 'id', note: 'note' }) }), 'id\n1\n')).outcome.errors[0]).toMatchObject({
      code: 'MISSING_COLUMNS',
    });
  });

  it('does not check names the mapping reads inside paths, filters or $source', async () => {
    const feed = makeFeed({ mapping: fields({ a: '$split(tags, ";")[$ != "x"]', k: '$source.key', n: '$keys($)' }) });
    expect((await runEngine(feed, 'tags\nx;y\n')).outcome.status).toBe('SUCCEEDED');
  });

  it('fails a header that names a column twice', async () => {
    const run = await runEngine(makeFeed(), 'a,b,a\n1,2,3\n');
    expect(run.outcome.status).toBe('FAILED');
    expect(run.outcome.errors[0]).toMatchObject({ code: 'CSV_MALFORMED', line: 1 });
    expect(run.outcome.errors[0]!.message).toContain('"a" twice (columns 1 and 3)');
  });

  it('refuses a file over maxFileMiB up front from its size, and while streaming when the size is unknown', async () => {
    const feed = makeFeed({ maxFileMiB: 1 });
    const upFront = await runEngine(feed, 'a\n1\n', { sizeBytes: 2 * 1024 * 1024 });
    expect(upFront.outcome).toMatchObject({ status: 'FAILED', rowsIn: 0, bytesIn: 0 });
    expect(upFront.outcome.errors[0]).toMatchObject({ code: 'TOO_LARGE' });
    const streamed = await runEngine(feed, `a\n${`${'1'.repeat(1000)}\n`.repeat(1200)}`, { chunkSize: 65536 });
    expect(streamed.outcome.status).toBe('FAILED');
    expect(streamed.outcome.errors[0]).toMatchObject({ code: 'TOO_LARGE' });
  });

  it('fails with ENCODING_ERROR on bytes invalid for the declared encoding, with the line', async () => {
    const bytes = Buffer.concat([Buffer.from('a,b\n1,2\n3,'), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]);
    const run = await runEngine(makeFeed(), bytes);
    expect(run.outcome.status).toBe('FAILED');
    expect(run.outcome.errors[0]).toMatchObject({ code: 'ENCODING_ERROR', line: 3 });
  });

  it('is PARTIAL within maxRejectedPercent and FAILED with TOO_MANY_REJECTS above it', async () => {
    const mapping = fields({ id: 'id', amount: '$number(amount)' });
    const csv = 'id,amount\n1,5\n2,-1\n3,7\n4,8\n';
    const partial = await runEngine(makeFeed({ mapping, schema: ORDERS_SCHEMA, errors: { maxRejectedPercent: 25 } }), csv);
    expect(partial.outcome).toMatchObject({ status: 'PARTIAL', rowsIn: 4, rowsOut: 3, rowsRejected: 1 });
    const failed = await runEngine(makeFeed({ mapping, schema: ORDERS_SCHEMA, errors: { maxRejectedPercent: 24.9 } }), csv);
    expect(failed.outcome).toMatchObject({ status: 'FAILED', rowsIn: 4, rowsOut: 3, rowsRejected: 1 });
    expect(failed.outcome.errors[0]).toEqual({
      code: 'TOO_MANY_REJECTS',
      message: "1 of 4 rows rejected (25%), over the feed's maxRejectedPercent of 24.9",
    });
  });

  it('holds rowsIn = rowsOut + rowsRejected for any input bytes', async () => {
    const feed = makeFeed({ mapping: fields({ id: 'a', amount: '$number(b)' }), schema: { type: 'object', required: ['id'] } });
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
        const run = await runEngine(feed, Buffer.concat([Buffer.from('a,b\n'), bytes]), { chunkSize: 7 });
        const o = run.outcome;
        expect(o.rowsIn).toBe(o.rowsOut + o.rowsRejected);
        expect(run.rejects).toHaveLength(o.rowsRejected);
      }),
      { numRuns: 200 },
    );
  });
});

describe('row rejects', () => {
  const feed = makeFeed({ mapping: fields({ id: 'id', amount: '$number(amount)' }), schema: ORDERS_SCHEMA });

  it('writes the contract rejects record for a schema violation, the value received quoted there only', async () => {
    const run = await runEngine(feed, 'id,amount\nA-1,5\nA-17,-3\n');
    expect(run.rejects).toEqual([
      { line: 3, record: 2, code: 'SCHEMA_VIOLATION', message: '/amount must be >= 0, got -3', field: '/amount', raw: 'A-17,-3' },
    ]);
    expect(Object.keys(run.rejects[0]!)).toEqual(['line', 'record', 'code', 'message', 'field', 'raw']);
    expect(run.outcome.errors).toEqual([
      { line: 3, record: 2, code: 'SCHEMA_VIOLATION', field: '/amount', message: '/amount must be >= 0' },
    ]);
  });

  it('rejects a row whose amount is not a number as a MAPPING_ERROR naming field and value', async () => {
    const run = await runEngine(feed, 'id,amount\nA-17,"12,50"\n');
    expect(run.rejects).toEqual([
      {
        line: 2,
        record: 1,
        code: 'MAPPING_ERROR',
        message: '/amount: Unable to cast value to a number: "12,50" [D3030]',
        field: '/amount',
        raw: 'A-17,"12,50"',
      },
    ]);
    // the outcome (ledger, events, logs) names the problem without the value
    expect(run.outcome.errors).toEqual([
      {
        line: 2,
        record: 1,
        code: 'MAPPING_ERROR',
        field: '/amount',
        message: '/amount: Unable to cast value to a number: <value> [D3030]',
      },
    ]);
  });

  it('withholds an $error text, which the expression may build from the row, from everything but the rejects', async () => {
    const run = await runEngine(makeFeed({ mapping: fields({ id: 'id', x: '$error("bad id " & id)' }) }), 'id\nsecret-17\n');
    expect(run.rejects[0]!.message).toBe('/x: bad id secret-17 [D3137]');
    expect(JSON.stringify(run.outcome)).not.toContain('secret-17');
    expect(run.outcome.errors[0]!.message).toBe(
      '/x: the expression raised an error with $error (its text is in the rejects object) [D3137]',
    );
  });

  it('rejects a missing required field', async () => {
    const run = await runEngine(feed, 'id,amount\nA-1,\n');
    expect(run.rejects[0]).toMatchObject({ code: 'SCHEMA_VIOLATION', message: '/amount is required', field: '/amount' });
  });

  it('rejects records with the wrong number of fields and malformed quoting, keeping the rest', async () => {
    const run = await runEngine(feed, 'id,amount\nA-1,1,extra\n"A-2"x,2\nA-3,3\n"A-4,4\n');
    expect(run.rejects.map((r) => [r.line, r.record, r.code, r.message])).toEqual([
      [2, 1, 'CSV_MALFORMED', 'expected 2 fields, got 3'],
      [3, 2, 'CSV_MALFORMED', 'unexpected character "x" after the closing quote of field 1'],
      [5, 4, 'CSV_MALFORMED', 'quote opened on line 5 is never closed'],
    ]);
    expect(run.records).toEqual([{ id: 'A-3', amount: 3 }]);
  });

  it('rejects an oversized record and an oversized output record', async () => {
    const big = await runEngine(feed, `id,amount\n${'x'.repeat(3000)},1\nA-2,2\n`, { limits: { maxRecordChars: 1000 } });
    expect(big.rejects[0]).toMatchObject({ code: 'CSV_MALFORMED', message: 'record is longer than 1000 characters' });
    expect(big.records).toEqual([{ id: 'A-2', amount: 2 }]);
    const wide = makeFeed({ mapping: fields({ id: '$pad(id, 5000, "x")', amount: '1' }), schema: ORDERS_SCHEMA });
    const out = await runEngine(wide, 'id\nA\n', { limits: { maxOutputChars: 1000 } });
    expect(out.rejects[0]).toMatchObject({ code: 'MAPPING_ERROR', message: 'the output record is longer than 1000 characters' });
  });

  it('rejects the row of a runaway expression instead of hanging the file', async () => {
    const loop = makeFeed({
      mapping: fields({ id: '( $f := function($n) { $f($n + 1) }; $f(0) )', amount: '1' }),
      schema: { type: 'object' },
    });
    const run = await runEngine(loop, 'id\nA\nB\n');
    expect(run.outcome.rowsRejected).toBe(2);
    expect(run.rejects[0]).toMatchObject({ code: 'MAPPING_ERROR', field: '/id' });
    expect(String(run.rejects[0]!.message)).toMatch(/D1011|D1012/);
    const spin = makeFeed({
      mapping: fields({ id: '$count([1..10000000].($string($)))' }),
      schema: { type: 'object' },
    });
    const spun = await runEngine(spin, 'id\nA\n');
    // the sequence guard (D2015) refuses the 10-million-item range before building it
    expect(spun.rejects[0]).toMatchObject({ code: 'MAPPING_ERROR', message: expect.stringContaining('[D2015]') });
  });

  it('rejects a whole-object mapping that produces no object', async () => {
    const run = await runEngine(
      makeFeed({ mapping: { kind: 'expression', file: 'x.jsonata', expression: 'a = "1" ? $ : "no"' } }),
      'a\n1\n2\n',
    );
    expect(run.rejects).toEqual([
      { line: 3, record: 2, code: 'MAPPING_ERROR', message: 'the mapping must produce an object, got string "no"', raw: '2' },
    ]);
  });
});

describe('mapping semantics', () => {
  it('leaves nullValues cells out of the row, so $exists is false for them', async () => {
    const feed = makeFeed({
      csv: { nullValues: ['', 'NULL'] },
      mapping: fields({ a: 'a', hasB: '$exists(b)', c: 'c' }),
    });
    const run = await runEngine(feed, 'a,b,c\nx,NULL,\ny,,z\n');
    expect(run.records).toEqual([
      { a: 'x', hasB: false },
      { a: 'y', hasB: false, c: 'z' },
    ]);
  });

  it('keeps empty cells when nullValues is empty', async () => {
    const run = await runEngine(makeFeed({ csv: { nullValues: [] } }), 'a,b\n,x\n');
    expect(run.records).toEqual([{ a: '', b: 'x' }]);
  });

  it('binds $source with partner, feed, key, line and record', async () => {
    const run = await runEngine(makeFeed({ mapping: fields({ s: '$source' }) }), 'a\n"multi\nline"\n2\n', { key: 'test/feed/x.csv' });
    expect(run.records).toEqual([
      { s: { partner: 'test', feed: 'feed', key: 'test/feed/x.csv', line: 2, record: 1 } },
      { s: { partner: 'test', feed: 'feed', key: 'test/feed/x.csv', line: 4, record: 2 } },
    ]);
  });

  it('builds nested objects from dotted names, in YAML order, leaving out undefined results', async () => {
    const feed = makeFeed({
      mapping: fields({ 'z.last': 'b', id: 'a', 'z.first': 'a', missing: 'nope', 'deep.er.est': '1' }),
      csv: { optionalColumns: ['nope'] },
    });
    const run = await runEngine(feed, 'a,b\n1,2\n');
    expect(run.output).toBe('{"z":{"last":"2","first":"1"},"id":"1","deep":{"er":{"est":1}}}\n');
  });

  it('reads columns whose names are not identifiers through backticks', async () => {
    const feed = makeFeed({ mapping: fields({ currency: '`Währung`', total: '$number(`Total (EUR)`)' }) });
    const run = await runEngine(feed, 'Währung,Total (EUR)\nEUR,12.5\n');
    expect(run.records).toEqual([{ currency: 'EUR', total: 12.5 }]);
  });

  it('keeps __proto__ and constructor headers as plain columns that cannot pollute prototypes', async () => {
    const feed = makeFeed({
      mapping: fields({ p: '`__proto__`', c: 'constructor', keys: '$keys($)' }),
    });
    const run = await runEngine(feed, '__proto__,constructor,polluted\n{"x":1},C,yes\n');
    expect(run.records).toEqual([{ p: '{"x":1}', c: 'C', keys: ['__proto__', 'constructor', 'polluted'] }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('x');
  });

  it('does not let a row reach Object.prototype members through missing columns', async () => {
    const feed = makeFeed({ mapping: fields({ c: 'constructor', t: 'toString' }), csv: { optionalColumns: ['constructor', 'toString'] } });
    const run = await runEngine(feed, 'a\n1\n');
    expect(run.records).toEqual([{}]);
  });

  it('keeps formula-looking cells verbatim', async () => {
    const run = await runEngine(makeFeed(), 'a,b\n=SUM(A1:A2),+1\n');
    expect(run.records).toEqual([{ a: '=SUM(A1:A2)', b: '+1' }]);
  });

  it('writes a JSON array when the output format is json', async () => {
    const feed = makeFeed({ output: { dataset: 't', format: 'json' } });
    expect((await runEngine(feed, 'a\n1\n2\n')).output).toBe('[\n{"a":"1"},\n{"a":"2"}\n]\n');
    expect((await runEngine(feed, 'a\n')).output).toBe('[]\n');
  });
});

describe('dialects and encodings end to end', () => {
  const identity = { kind: 'expression', file: 'id.jsonata', expression: '$' } as const;
  const DIALECTS = [
    { delimiter: ',', quote: '"', eol: '\n', encoding: 'utf-8' },
    { delimiter: ';', quote: '"', eol: '\r\n', encoding: 'windows-1252' },
    { delimiter: '|', quote: "'", eol: '\r\n', encoding: 'utf-16le' },
    { delimiter: '\t', quote: '"', eol: '\r', encoding: 'utf-16be' },
    { delimiter: ',', quote: '"', eol: '\n', encoding: 'latin1' },
  ] as const;
  const unit = fc.constantFrom('a', 'B', '7', ' ', 'ä', 'é', ',', ';', '|', '\t', '"', "'", '\n', '\r');
  const cell = fc.string({ unit, maxLength: 10 });

  for (const d of DIALECTS) {
    it(`any table of strings written as ${JSON.stringify(d.delimiter)}-separated ${d.encoding} comes back identical`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(cell, cell, cell), { minLength: 0, maxLength: 15 }),
          fc.integer({ min: 1, max: 64 }),
          async (rows, chunk) => {
            const header = ['c1', 'c2', 'c3'];
            const text = stringify([header, ...rows], {
              delimiter: d.delimiter,
              quote: d.quote,
              escape: d.quote,
              record_delimiter: d.eol,
              quoted_empty: true,
              quoted_match: /[\r\n]/,
            });
            const bytes = d.encoding === 'utf-16be' ? Buffer.from(text, 'utf16le').swap16() : iconv.encode(text, d.encoding);
            const feed = makeFeed({
              csv: { delimiter: d.delimiter, quote: d.quote, escape: d.quote, encoding: d.encoding, nullValues: [] },
              mapping: identity,
            });
            const run = await runEngine(feed, bytes, { chunkSize: chunk });
            expect(run.outcome.status).toBe('SUCCEEDED');
            expect(run.records).toEqual(rows.map(([c1, c2, c3]) => ({ c1, c2, c3 })));
          },
        ),
        { numRuns: 100 },
      );
    });
  }

  it('reads a headerless file with declared columns', async () => {
    const feed = makeFeed({ csv: { header: false, columns: ['x', 'y'], delimiter: '|' } });
    const run = await runEngine(feed, '1|"a|b"\r\n2|"c\r\nd"\r\n');
    expect(run.records).toEqual([
      { x: '1', y: 'a|b' },
      { x: '2', y: 'c\r\nd' },
    ]);
    expect(run.outcome.rowsIn).toBe(2);
  });
});

describe('streaming', () => {
  it('waits for a slow output instead of buffering the file', async () => {
    let written = 0;
    let maxPending = 0;
    const slow = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _enc, cb) {
        written += chunk.length;
        setTimeout(cb, 1);
      },
    });
    const rows = 20_000;
    async function* input() {
      yield Buffer.from('a,b\n');
      for (let i = 0; i < rows; i++) {
        maxPending = Math.max(maxPending, slow.writableLength);
        yield Buffer.from(`${i},${'y'.repeat(50)}\n`);
      }
    }
    const outcome = await transformFile(compileFeed(makeFeed()), { key: 'k', input: input(), output: slow, rejects: new PassThrough() });
    await new Promise<void>((resolve) => slow.end(resolve));
    expect(outcome.rowsOut).toBe(rows);
    expect(written).toBeGreaterThan(rows * 50);
    expect(maxPending).toBeLessThan(200 * 1024);
  });

  it('streams a file many times larger than the memory it may use', () => {
    // 128 MiB generated on the fly through a process whose whole heap may not exceed 48 MiB: holding
    // the file (or the output) anywhere would kill it with heap exhaustion.
    const script = join(import.meta.dirname, '../../../support/stream-large-file.ts');
    const run = spawnSync(process.execPath, ['--max-old-space-size=48', '--import', 'tsx', script, '128'], {
      encoding: 'utf8',
      timeout: 110_000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.rowsOut).toBe(result.expectedRows);
    expect(result.bytesIn).toBeGreaterThan(127 * 1024 * 1024);
    expect(result.peakHeap).toBeLessThan(48 * 1024 * 1024);
  }, 120_000);
});

it('fails the stream read when the input errors, instead of reporting a short file as good', async () => {
  const input = new Readable({
    read() {
      this.push('a\n1\n');
      this.destroy(new Error('connection reset'));
    },
  });
  await expect(
    transformFile(compileFeed(makeFeed()), { key: 'k', input, output: new PassThrough(), rejects: new PassThrough() }),
  ).rejects.toThrow('connection reset');
});

describe('compiled-mapping fallbacks', () => {
  it('counts, per expression, the rows a compiled closure handed to the interpreter, and reports them in the outcome', async () => {
    // `a + 1` on a string is outside the compiled subset: the closure defers, the interpreter rejects the row
    const feed = makeFeed({ mapping: fields({ next: 'a + 1', b: 'b', sum: '$number(a) + 1' }) });
    const run = await runEngine(feed, 'a,b\n1,x\n2,y\n,z\n');
    expect(run.outcome).toMatchObject({ status: 'PARTIAL', rowsOut: 1, rowsRejected: 2 });
    expect(run.records).toEqual([{ b: 'z' }]);
    expect(run.outcome.mappingFallbacks).toEqual([{ field: '/next', deferred: 2, errors: 0, reason: 'arithmetic on a non-number' }]);
  });

  it('reports nothing when every row stays compiled', async () => {
    expect((await runEngine(makeFeed({ mapping: fields({ b: 'b' }) }), 'a,b\n1,x\n')).outcome.mappingFallbacks).toBeUndefined();
  });

  it('counts an unexpected throw of the compiled closure as a compiler error with its message, apart from deferrals', () => {
    const counter = new FallbackCounter();
    counter.note(1, '/x', new Fallback('path over an array'));
    counter.note(0, '/a', new TypeError('cannot read properties of undefined'));
    counter.note(1, '/x', new Fallback('non-finite number'));
    counter.note(0, '/a', new TypeError('again'));
    expect(counter.report()).toEqual([
      { field: '/a', deferred: 0, errors: 2, error: 'TypeError: cannot read properties of undefined' },
      { field: '/x', deferred: 2, errors: 0, reason: 'path over an array' },
    ]);
  });

  it('adds up the counts of the chunks of one file, field by field, keeping the first reason and error', () => {
    expect(
      mergeFallbacks([
        [{ field: '/x', deferred: 2, errors: 0, reason: 'first' }],
        undefined,
        [
          { field: '/a', deferred: 0, errors: 1, error: 'E' },
          { field: '/x', deferred: 3, errors: 1, reason: 'second', error: 'F' },
        ],
      ]),
    ).toEqual([
      { field: '/a', deferred: 0, errors: 1, error: 'E' },
      { field: '/x', deferred: 5, errors: 1, reason: 'first', error: 'F' },
    ]);
  });
});
