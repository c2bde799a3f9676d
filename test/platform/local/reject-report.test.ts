import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CsvTokenizer } from '../../../lambdas/transformer/engine/csv-tokenizer.js';
import { decodeSingleByte } from '../../../lambdas/transformer/engine/single-byte.js';
import { makeConfigRoot } from '../../support/config-root.js';

const REPO = join(import.meta.dirname, '../../..');
const BIN = join(REPO, 'platform/cli/partner-etl.mjs');

function cli(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** Semicolons, windows-1252, a preamble line, CRLF, decimal commas: the partner's own form, far from the defaults. */
const PARTNER = `id: muller
name: Müller
owner: data@example.com
feeds:
  - id: invoices
    source:
      prefix: muller/invoices/
    csv:
      delimiter: ";"
      encoding: windows-1252
      skipLines: 1
      columns: [Nr, Kunde, Betrag]
    mapping:
      number: Nr
      customer: Kunde
      amount: $number($replace(Betrag, ",", "."))
    schema: invoices.schema.json
    output:
      dataset: invoices
    errors:
      maxRejectedPercent: 80
`;
const SCHEMA = JSON.stringify({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['number', 'customer', 'amount'],
  properties: { number: { type: 'string' }, customer: { type: 'string' }, amount: { type: 'number', minimum: 0 } },
});

/** The lines of the file, each as the partner's bytes (CRLF files: split on CRLF). */
const LINES = [
  'Rechnungsausgangsbuch; Export 11/2026',
  'Nr;Kunde;Betrag',
  'R-1;Bäckerei Süß;12,50',
  'R-2;"Café; Konditorei";abc', // a quoted delimiter, a value the mapping cannot read
  'R-3;Müller €;-3,00', // a schema violation (minimum), the euro sign at 0x80
  'R-4;Öl AG', // a field short
  'R-5;Straße;7,00',
];
const FILE = Buffer.concat(LINES.map((line) => Buffer.concat([Buffer.from(encode1252(line)), Buffer.from('\r\n')])));

function encode1252(text: string): Uint8Array {
  return Uint8Array.from([...text].map((c) => (c === '€' ? 0x80 : c.charCodeAt(0))));
}

describe('the partner reject report on the local platform', () => {
  it("writes <name>.rejects.csv with the partner's exact bytes per rejected row, in the feed's dialect and encoding, and the summary", () => {
    const root = makeConfigRoot({ 'partners/muller.yaml': PARTNER, 'mappings/muller/invoices.schema.json': SCHEMA });
    const dir = mkdtempSync(join(tmpdir(), 'partner-etl-report-'));
    mkdirSync(join(dir, 'inbox/muller/invoices'), { recursive: true });
    writeFileSync(join(dir, 'inbox/muller/invoices/2026-11.csv'), FILE);
    const run = cli(['dev', '--once', '--root', root], dir);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('PARTIAL');

    const files = filesUnder(join(dir, 'outbox/rejects/muller/invoices'));
    const csvFile = files.find((f) => f.endsWith('.rejects.csv'));
    expect(csvFile, files.join('\n')).toBeDefined();
    expect(csvFile!.replace(/\.rejects\.csv$/, '')).toBe(
      files.find((f) => f.endsWith('.rejects.ndjson'))!.replace(/\.rejects\.ndjson$/, ''),
    );
    const bytes = readFileSync(csvFile!);

    // Every line, CRLF-terminated, in windows-1252: the header as sent, then each rejected row's exact bytes.
    const lines = splitCrlf(bytes);
    expect(lines).toHaveLength(4);
    const after = (line: Buffer, prefix: string) => {
      expect(line.subarray(0, prefix.length).toString('latin1')).toBe(prefix);
      return line.subarray(prefix.length);
    };
    expect(after(lines[0]!, 'line;error_code;field;reason;').equals(Buffer.from(encode1252(LINES[1]!)))).toBe(true);
    for (const [i, sourceLine] of [
      [1, 4],
      [2, 5],
      [3, 6],
    ] as const) {
      const original = Buffer.from(encode1252(LINES[sourceLine - 1]!));
      expect(lines[i]!.subarray(lines[i]!.length - original.length).equals(original), `row of line ${sourceLine}`).toBe(true);
      expect(lines[i]!.subarray(0, String(sourceLine).length + 1).toString('latin1')).toBe(`${sourceLine};`);
    }

    // It opens as CSV in the feed's own dialect: the report columns, then the partner's columns.
    const tokenizer = new CsvTokenizer({
      delimiter: ';',
      quote: '"',
      escape: '"',
      trim: false,
      skipLines: 0,
      maxRecordChars: 1 << 20,
      firstLine: 1,
    });
    const records = [...tokenizer.push(decodeSingleByte(bytes, 'windows-1252')), ...tokenizer.end()].map((r) => r.fields);
    expect(records[0]).toEqual(['line', 'error_code', 'field', 'reason', 'Nr', 'Kunde', 'Betrag']);
    expect(records[1]!.slice(0, 3)).toEqual(['4', 'MAPPING_ERROR', '/amount']);
    expect(records[1]!.slice(4)).toEqual(['R-2', 'Café; Konditorei', 'abc']);
    expect(records[2]!.slice(0, 3)).toEqual(['5', 'SCHEMA_VIOLATION', '/amount']);
    expect(records[2]!.slice(4)).toEqual(['R-3', 'Müller €', '-3,00']);
    expect(records[3]!.slice(0, 2)).toEqual(['6', 'CSV_MALFORMED']);
    expect(records[3]![3]).toContain('expected 3 fields, got 2');
    expect(records[3]!.slice(4)).toEqual(['R-4', 'Öl AG']);

    // The one-page summary: counts and the reasons with an example, as text and as HTML.
    const text = readFileSync(
      files.find((f) => f.endsWith('.rejects-summary.txt'))!,
      'utf8',
    );
    expect(text).toContain('Status: PARTIAL. 5 rows read, 2 accepted, 3 rejected.');
    expect(text).toMatch(/1 x MAPPING_ERROR at \/amount\n\s+line 4: .+\n\s+row: R-2;"Café; Konditorei";abc/);
    expect(text).toContain('1 x SCHEMA_VIOLATION at /amount');
    const html = readFileSync(
      files.find((f) => f.endsWith('.rejects-summary.html'))!,
      'utf8',
    );
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<td>5</td><td>2</td><td>3</td>');
    expect(html).toContain('R-2;&#34;Café; Konditorei&#34;;abc');
    expect(html).not.toMatch(/<script|src=|href=/);
  });

  it('writes no report for a file that succeeds', () => {
    const root = makeConfigRoot({ 'partners/muller.yaml': PARTNER, 'mappings/muller/invoices.schema.json': SCHEMA });
    const dir = mkdtempSync(join(tmpdir(), 'partner-etl-report-'));
    mkdirSync(join(dir, 'inbox/muller/invoices'), { recursive: true });
    writeFileSync(join(dir, 'inbox/muller/invoices/ok.csv'), Buffer.from('x\r\nNr;Kunde;Betrag\r\nR-1;A;1,00\r\n'));
    expect(cli(['dev', '--once', '--root', root], dir).code).toBe(0);
    const files = filesUnder(join(dir, 'outbox/rejects'));
    expect(files.filter((f) => f.endsWith('.summary.json'))).toHaveLength(1);
    expect(files.filter((f) => /\.rejects(-summary)?\./.test(f))).toEqual([]);
  });
});

function splitCrlf(bytes: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length - 1; i++) {
    if (bytes[i] === 0x0d && bytes[i + 1] === 0x0a) {
      lines.push(bytes.subarray(start, i));
      start = i + 2;
    }
  }
  expect(start).toBe(bytes.length); // ends with its last line break, and no bare LF anywhere
  return lines;
}
