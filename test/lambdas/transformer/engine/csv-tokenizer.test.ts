import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { CsvTokenizer, type CsvRecord, type TokenizerOptions } from '../../../../lambdas/transformer/engine/csv-tokenizer.js';
import { findGoldenCases } from '../../../../platform/config/golden.js';
import { requireValidConfig } from '../../../../platform/config/load-config.js';

const COMMA: TokenizerOptions = { delimiter: ',', quote: '"', escape: '"', trim: false, skipLines: 0, maxRecordChars: 1 << 20 };

function tokenize(text: string, options: Partial<TokenizerOptions> = {}, chunkSizes: number[] = [text.length || 1]): CsvRecord[] {
  const t = new CsvTokenizer({ ...COMMA, ...options });
  const out: CsvRecord[] = [];
  let i = 0;
  let k = 0;
  while (i < text.length) {
    const size = Math.max(1, chunkSizes[k++ % chunkSizes.length]!);
    out.push(...t.push(text.slice(i, i + size)));
    i += size;
  }
  out.push(...t.end());
  return out;
}

const SPECTRUM = join(import.meta.dirname, '../../../conformance/csv-spectrum');

describe('csv-spectrum', () => {
  const files = readdirSync(join(SPECTRUM, 'csvs')).filter((f) => f.endsWith('.csv'));

  it('has the twelve cases', () => {
    expect(files).toHaveLength(12);
  });

  for (const file of files) {
    it(`parses ${file} as the expected JSON`, () => {
      const text = readFileSync(join(SPECTRUM, 'csvs', file), 'utf8');
      // location_coordinates.json holds one object rather than an array of one
      const expected = [JSON.parse(readFileSync(join(SPECTRUM, 'json', file.replace('.csv', '.json')), 'utf8'))].flat() as Record<
        string,
        string
      >[];
      const [header, ...rows] = tokenize(text);
      const objects = rows.map((r) => Object.fromEntries(header!.fields.map((h, i) => [h, r.fields[i]])));
      if (file === 'location_coordinates.csv') {
        // Upstream's expected JSON has a different phone number than its CSV (a known csv-spectrum data error);
        // everything else, including the quotes kept inside an unquoted field, must match.
        expect(objects[0]!['Contact Phone Number']).toBe('2095257564');
        expected[0]!['Contact Phone Number'] = '2095257564';
      }
      expect(objects).toEqual(expected);
      expect(rows.every((r) => r.error === undefined)).toBe(true);
    });
  }
});

describe('line numbers', () => {
  it('gives the physical line where each record starts, with CRLF inside quotes counted once', () => {
    const records = tokenize('a,b\r\n1,2\r\n"x\r\ny",3\r\n\r\n4,5\r\n');
    expect(records.map((r) => r.line)).toEqual([1, 2, 3, 6]);
  });

  it('counts LF, CRLF and lone CR line endings mixed in one file', () => {
    const records = tokenize('a,b\n1,2\r\n3,4\r5,6\n"m\rn",7');
    expect(records.map((r) => [r.line, r.fields])).toEqual([
      [1, ['a', 'b']],
      [2, ['1', '2']],
      [3, ['3', '4']],
      [4, ['5', '6']],
      [5, ['m\rn', '7']],
    ]);
  });

  it('skips physical lines before the first record, whatever they contain', () => {
    const records = tokenize('title "unbalanced\r\nsecond, line\na,b\n1,2\n', { skipLines: 2 });
    expect(records.map((r) => [r.line, r.fields])).toEqual([
      [3, ['a', 'b']],
      [4, ['1', '2']],
    ]);
  });

  it('keeps the last record when the file has no final newline', () => {
    expect(tokenize('a,b\n1,2').map((r) => r.fields)).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });
});

describe('malformed records', () => {
  it('rejects a record with text after a closing quote and keeps every following record', () => {
    const records = tokenize('a,b\n"bad"q,7\n8,9\n');
    expect(records[1]).toMatchObject({ line: 2, raw: '"bad"q,7', error: 'unexpected character "q" after the closing quote of field 1' });
    expect(records[2]).toEqual({ fields: ['8', '9'], line: 3, raw: '8,9' });
  });

  it('rejects an unclosed quote on the last line with the line it opened on', () => {
    const records = tokenize('a,b\n1,2\n"open,3\n4,5');
    expect(records).toHaveLength(3);
    expect(records[2]).toMatchObject({ line: 3, raw: '"open,3\n4,5', error: 'quote opened on line 3 is never closed' });
  });

  it('rejects an oversized record without holding it, whatever the chunking', () => {
    const big = 'x'.repeat(5000);
    for (const chunk of [7, 64, 100_000]) {
      const records = tokenize(`a,b\n"${big}",1\n2,3\n`, { maxRecordChars: 1000 }, [chunk]);
      expect(records).toHaveLength(3);
      expect(records[1]!.error).toBe('record is longer than 1000 characters');
      expect(records[1]!.raw).toBe(`"${big}`.slice(0, 1000));
      expect(records[2]).toEqual({ fields: ['2', '3'], line: 3, raw: '2,3' });
    }
  });

  it('keeps a quote inside an unquoted field as data', () => {
    expect(tokenize('5\'11",x"y\n')[0]!.fields).toEqual(['5\'11"', 'x"y']);
  });
});

describe('dialects', () => {
  it('reads backslash escapes inside quotes and keeps a backslash before other characters', () => {
    const [r] = tokenize('"a\\"b";"c\\\\d";"e\\nf"\n', { delimiter: ';', escape: '\\' });
    expect(r!.fields).toEqual(['a"b', 'c\\d', 'e\\nf']);
  });

  it('trims blanks around unquoted values and outside quotes, never inside them', () => {
    const [r] = tokenize(' a ,  " b " ,c\t\n', { trim: true });
    expect(r!.fields).toEqual(['a', ' b ', 'c']);
  });

  it('treats quotes as data when quoting is off', () => {
    const [r] = tokenize('"a"|b"\n', { delimiter: '|', quote: '', escape: '' });
    expect(r!.fields).toEqual(['"a"', 'b"']);
  });

  it('reads tab-separated values', () => {
    expect(tokenize('a\tb\n1\t"2\t3"\n', { delimiter: '\t' })[1]!.fields).toEqual(['1', '2\t3']);
  });
});

// Generated tables of strings that stress quoting: delimiters, quotes, escapes, CR, LF, unicode.
const cell = fc.string({
  unit: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'Z', '1', ' ', 'é', '€', '😀') },
    { weight: 3, arbitrary: fc.constantFrom(',', ';', '|', '\t', '"', "'", '\\', '\n', '\r') },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 1 }) },
  ),
  maxLength: 12,
});
const table = fc
  .integer({ min: 2, max: 5 })
  .chain((width) => fc.array(fc.array(cell, { minLength: width, maxLength: width }), { minLength: 1, maxLength: 20 }));
const chunking = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 });

const DIALECTS = [
  { name: 'comma, double quote, CRLF', delimiter: ',', quote: '"', eol: '\r\n' },
  { name: 'semicolon, double quote, LF', delimiter: ';', quote: '"', eol: '\n' },
  { name: 'pipe, single quote, CR', delimiter: '|', quote: "'", eol: '\r' },
  { name: 'tab, double quote, LF', delimiter: '\t', quote: '"', eol: '\n' },
] as const;

describe('property: any table written as CSV reads back identical', () => {
  for (const d of DIALECTS) {
    it(`${d.name}, in any chunking, with line numbers, and as csv-parse reads it`, () => {
      fc.assert(
        fc.property(table, chunking, (rows, chunks) => {
          const lines = rows.map((row) =>
            stringify([row], {
              delimiter: d.delimiter,
              quote: d.quote,
              escape: d.quote,
              record_delimiter: d.eol,
              quoted_empty: true,
              quoted_match: /[\r\n]/,
            }),
          );
          const text = lines.join('');
          const records = tokenize(text, { delimiter: d.delimiter, quote: d.quote, escape: d.quote }, chunks);
          expect(records.map((r) => r.fields)).toEqual(rows);
          expect(records.every((r) => r.error === undefined)).toBe(true);
          let line = 1;
          rows.forEach((_, i) => {
            expect(records[i]!.line).toBe(line);
            line += (lines[i]!.match(/\r\n|\r|\n/g) ?? []).length;
          });
          const reference = parse(text, {
            delimiter: d.delimiter,
            quote: d.quote,
            escape: d.quote,
            record_delimiter: d.eol,
            relax_quotes: true,
          }) as string[][];
          expect(reference).toEqual(rows);
        }),
        { numRuns: 200 },
      );
    });
  }

  it('backslash escape dialect, in any chunking', () => {
    const write = (v: string) => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
    fc.assert(
      fc.property(table, chunking, (rows, chunks) => {
        const text = rows.map((row) => `${row.map(write).join(',')}\n`).join('');
        const records = tokenize(text, { escape: '\\' }, chunks);
        expect(records.map((r) => r.fields)).toEqual(rows);
        const reference = parse(text, { escape: '\\', relax_quotes: true }) as string[][];
        expect(reference).toEqual(rows);
      }),
      { numRuns: 200 },
    );
  });

  it('gives the same records however arbitrary text is chunked, malformed or not', () => {
    const text = fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', '\r', ' ', 'é'), maxLength: 80 });
    fc.assert(
      fc.property(text, chunking, (t, chunks) => {
        expect(tokenize(t, {}, chunks)).toEqual(tokenize(t));
      }),
      { numRuns: 500 },
    );
  });
});

describe('why not csv-parse alone (pinned, so a fixed csv-parse shows up here)', () => {
  it('csv-parse counts a CRLF inside quotes as two lines', () => {
    const records = parse('a,b\r\n"x\r\ny",3\r\n4,5\r\n', { info: true }) as unknown as { info: { lines: number } }[];
    expect(records[2]!.info.lines).toBe(5); // physically the record is on line 4
    expect(tokenize('a,b\r\n"x\r\ny",3\r\n4,5\r\n')[2]!.line).toBe(4);
  });

  it('csv-parse, skipping a record with a bad closing quote, loses the good record after it', () => {
    const good: string[][] = parse('a,b\n"bad"q,7\n8,9\n', { skip_records_with_error: true, relax_column_count: true });
    expect(good).toEqual([['a', 'b']]); // 8,9 is gone
    expect(tokenize('a,b\n"bad"q,7\n8,9\n').map((r) => r.fields)[2]).toEqual(['8', '9']);
  });
});

describe('every sample file reads as csv-parse reads it', () => {
  const REPO = join(import.meta.dirname, '../../../..');
  const config = requireValidConfig(REPO);
  for (const c of findGoldenCases(REPO, config)) {
    it(c.csv, () => {
      const csv = c.feed.csv;
      const text = iconv.decode(readFileSync(join(REPO, c.csv)), csv.encoding);
      const ours = tokenize(
        text,
        { delimiter: csv.delimiter, quote: csv.quote, escape: csv.escape, trim: csv.trim, skipLines: csv.skipLines },
        [7, 64, 1000],
      );
      const reference = parse(text, {
        delimiter: csv.delimiter,
        quote: csv.quote,
        escape: csv.escape,
        trim: csv.trim,
        from_line: csv.skipLines + 1,
        relax_quotes: true,
        relax_column_count: true,
        skip_empty_lines: true,
        bom: true,
      }) as string[][];
      expect(ours.map((r) => r.fields)).toEqual(reference);
    });
  }
});
