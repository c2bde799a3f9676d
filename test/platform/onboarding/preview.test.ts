import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import type { FieldMappingConfig } from '../../../lambdas/transformer/model.js';
import { findFeed } from '../../../lambdas/transformer/model.js';
import { requireValidConfig } from '../../../platform/config/load-config.js';
import { cutAfterLastLineBreak, previewFile, renderPreview } from '../../../platform/onboarding/preview.js';
import { makeFeed } from '../../support/engine.js';

const REPO = join(import.meta.dirname, '../../..');
const config = requireValidConfig(REPO);
const orders = findFeed(config, 'acme/orders')!;
const SAMPLES = join(REPO, 'mappings/acme/orders/samples');

const fields = (map: Record<string, string>): { kind: 'fields'; fields: FieldMappingConfig[] } => ({
  kind: 'fields',
  fields: Object.entries(map).map(([name, expression]) => ({ name, path: name.split('.'), expression })),
});

function fileWith(content: string | Buffer): { path: string; size: number } {
  const path = join(mkdtempSync(join(tmpdir(), 'partner-etl-preview-')), 'file.csv');
  writeFileSync(path, content);
  return { path, size: statSync(path).size };
}

const ndjson = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

// The ANSI escape introducer, and every other control character but the line feed.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
/** The two color codes the preview itself writes. */
const withoutColor = (text: string) => text.replaceAll('\x1b[31m', '').replaceAll('\x1b[0m', '');

describe('previewFile', () => {
  it("with-bad-rows.csv: each row's output is the golden output, each rejected row has the golden reject's code and reason", async () => {
    const file = join(SAMPLES, 'with-bad-rows.csv');
    const preview = await previewFile(orders, file, statSync(file).size, 20, 'acme/orders/with-bad-rows.csv');
    expect(preview.fileError).toBeUndefined();
    expect(preview.more).toBe(false);
    expect(preview.columns).toEqual(['order_id', 'order_date', 'customer_email', 'customer_name', 'amount', 'currency', 'shipping']);
    const golden = ndjson(join(SAMPLES, 'with-bad-rows.expected.ndjson'));
    const goldenRejects = ndjson(join(SAMPLES, 'with-bad-rows.expected-rejects.ndjson'));
    expect(preview.rows.filter((r) => r.output).map((r) => r.output)).toEqual(golden);
    expect(preview.rows.filter((r) => r.reject).map((r) => ({ line: r.line, record: r.record, ...r.reject }))).toEqual(
      goldenRejects.map(({ line, record, code, field, message }) => ({ line, record, code, message, ...(field ? { field } : {}) })),
    );
    expect(preview.rows[0]).toMatchObject({
      record: 1,
      line: 2,
      cells: ['A-2001', '2026-11-26', 'ann@example.com', 'Ann', '10.00', 'EUR', 'standard'],
    });
    expect(preview.expressions.map((e) => [e.field, e.runs])).toEqual(
      orders.mapping.kind === 'fields' ? orders.mapping.fields.map((f) => [f.name, 'compiled']) : [],
    );
    expect(preview.expressions.find((e) => e.field === 'amount')).toMatchObject({ deferred: 1, reason: 'not a number' });
  });

  it('--rows 3 of a 5 MB file: three rows, and the rest said to be there', async () => {
    const header = 'order_id,order_date,customer_email,customer_name,amount,currency,shipping\n';
    const row = (i: number) => `A-${i},2026-11-26,x${i}@example.com,"Name, ${i}",${i},EUR,standard\n`;
    const { path, size } = fileWith(header + Array.from({ length: 80_000 }, (_, i) => row(i + 1)).join(''));
    expect(size).toBeGreaterThan(5_000_000);
    const preview = await previewFile(orders, path, size, 3, 'acme/orders/big.csv');
    expect(preview.rows.map((r) => r.output?.orderId)).toEqual(['A-1', 'A-2', 'A-3']);
    expect(preview.more).toBe(true);
  });

  it('rows the first head cannot hold: the head grows until the asked rows are whole (a quoted cell of 300 KB with line breaks)', async () => {
    const feed = makeFeed({ csv: { columns: ['id', 'note'] }, mapping: fields({ id: 'id', size: '$length(note)' }) });
    const big = `${'line\n'.repeat(60_000)}end`; // 300 KB in one quoted cell, line feeds inside it
    const { path, size } = fileWith(`id,note\nA,"${big}"\nB,short\nC,x\n`);
    const preview = await previewFile(feed, path, size, 2, 'test/feed/file.csv');
    expect(preview.rows.map((r) => [r.line, r.output])).toEqual([
      [2, { id: 'A', size: big.length }],
      [60_003, { id: 'B', size: 5 }],
    ]);
    expect(preview.more).toBe(true);
  });

  it('a file-level error (a column the mapping reads is missing) is the preview, with no rows', async () => {
    const { path, size } = fileWith('order_id,amount\nA-1,3\n');
    const preview = await previewFile(orders, path, size, 20, 'acme/orders/x.csv');
    expect(preview.fileError).toMatchObject({ code: 'MISSING_COLUMNS' });
    expect(preview.rows).toEqual([]);
    expect(renderPreview(preview, { color: false })).toMatch(
      /^the file fails before its rows: the header lacks columns .* \[MISSING_COLUMNS\] \(line 1\)\n/,
    );
  });

  it('an expression outside the compiled subset runs on the interpreter, and says so', async () => {
    const feed = makeFeed({ mapping: fields({ id: 'id', shout: 'id ~> $uppercase' }) });
    const { path, size } = fileWith('id\na\n');
    const preview = await previewFile(feed, path, size, 20, 'test/feed/file.csv');
    expect(preview.expressions).toEqual([
      { field: 'id', runs: 'compiled', deferred: 0 },
      { field: 'shout', runs: 'interpreter', deferred: 0 },
    ]);
    expect(renderPreview(preview, { color: false })).toContain('  shout  interpreter (outside the compiled subset)\n');
  });
});

describe('renderPreview', () => {
  it('colors only the rejected rows red on a terminal; plain text has no escape at all', async () => {
    const file = join(SAMPLES, 'with-bad-rows.csv');
    const preview = await previewFile(orders, file, statSync(file).size, 5, 'acme/orders/with-bad-rows.csv');
    const colored = renderPreview(preview, { color: true }).split('\n');
    const plain = renderPreview(preview, { color: false });
    expect(plain).not.toMatch(CONTROL);
    expect(withoutColor(colored.join('\n'))).toBe(plain);
    const red = colored.filter((l) => l.includes('\x1b[31m'));
    expect(red.map((l) => withoutColor(l).trim().split(/\s+/).slice(0, 2).join(' '))).toEqual([
      '3 A-2002',
      '4 A-2003',
      '5 A-2004',
      '6 A-2005', // input table: the rejected rows
      '3 MAPPING_ERROR',
      '4 SCHEMA_VIOLATION',
      '5 CSV_MALFORMED',
      '6 SCHEMA_VIOLATION', // output table
    ]);
    for (const line of red) expect(line.startsWith('  \x1b[31m') && line.endsWith('\x1b[0m')).toBe(true);
    expect(plain).toContain('  4     SCHEMA_VIOLATION  /amount must be >= 0, got -5\n');
  });

  it('escapes control characters, bidi overrides and line breaks in headers, cells and outputs', async () => {
    const feed = makeFeed({ mapping: fields({ id: 'id', size: '$string($length($lookup($, $keys($)[1])))' }) });
    const { path, size } = fileWith('id,"no\x1b[2Jte"\n"A\u202eB","x\ny\x07"\n');
    const preview = await previewFile(feed, path, size, 20, 'test/feed/file.csv');
    expect(preview.rows[0]!.cells).toEqual(['A\u202eB', 'x\ny\x07']);
    for (const color of [false, true]) {
      const text = renderPreview(preview, { color });
      expect(withoutColor(text)).not.toMatch(CONTROL);
      expect(text).toContain('no\\u001b[2Jte');
      expect(text).toContain('A\\u202eB');
      expect(text).toContain('x\\ny\\u0007');
    }
  });
});

describe('cutAfterLastLineBreak', () => {
  it('cuts after the last line feed, never inside a character of UTF-8 or UTF-16 (either byte order)', () => {
    expect(cutAfterLastLineBreak(Buffer.from('a,b\nä€,x\nöö'), 'utf-8').toString()).toBe('a,b\nä€,x\n');
    for (const encoding of ['utf-16le', 'utf-16be'] as const) {
      const bytes = Buffer.concat([iconv.encode('\ufeffa,b\n\u0a0a,c\nxy', encoding)]);
      const cut = cutAfterLastLineBreak(bytes, 'utf-8'); // the BOM decides
      expect(iconv.decode(cut, encoding)).toBe('a,b\n\u0a0a,c\n');
    }
    const none = Buffer.from('no line break');
    expect(cutAfterLastLineBreak(none, 'utf-8')).toBe(none);
  });
});
