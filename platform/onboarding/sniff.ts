/**
 * Reading an unknown CSV file the way a careful person would: its encoding (a byte-order mark, else
 * valid UTF-8, else windows-1252 when its characters decode plausibly), its line ends, its dialect
 * (scored on consistency as CleverCSV does), the preamble lines before the header, and whether the
 * first record is a header at all. Used by `partner-etl init` to draft a feed from a sample file.
 */
import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import type { Encoding } from '../../lambdas/transformer/model.js';
import { CsvTokenizer, type CsvRecord } from '../../lambdas/transformer/engine/csv-tokenizer.js';
import { sniffUtf16 } from '../../lambdas/transformer/engine/decode.js';
import { isKnownCell } from './cell-types.js';

/** A file `init` cannot read, with the reason. */
export class SniffError extends Error {
  override readonly name = 'SniffError';
}

export interface DetectedEncoding {
  readonly encoding: Encoding;
  /** Bytes of the byte-order mark at the start (0 when there is none). */
  readonly bomLength: number;
  /** How it was decided, for the report. */
  readonly reason: string;
}

/** Non-letters above 0x7f that European text uses. */
const TYPOGRAPHY = '€‚„…†‡‰‹›‘’“”•–—™¡¢£¥§©«®°±²³µ¶·¹º»¼½¾¿×÷\u00a0';

/** Bytes that windows-1252 leaves undefined. */
const UNDEFINED_1252 = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);

/** A BOM; else UTF-16 by its NUL bytes; else valid UTF-8; else windows-1252 when it reads as text. */
export function detectEncoding(bytes: Buffer): DetectedEncoding {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)
    return { encoding: 'utf-8', bomLength: 3, reason: 'UTF-8 byte-order mark' };
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { encoding: 'utf-16le', bomLength: 2, reason: 'UTF-16LE byte-order mark' };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { encoding: 'utf-16be', bomLength: 2, reason: 'UTF-16BE byte-order mark' };
  const utf16 = sniffUtf16(bytes.subarray(0, 4096));
  if (utf16) return { encoding: utf16, bomLength: 0, reason: `${utf16.toUpperCase()} without a byte-order mark (NUL bytes)` };
  if (isUtf8(bytes)) {
    const ascii = bytes.every((b) => b < 0x80);
    return { encoding: 'utf-8', bomLength: 0, reason: ascii ? 'only ASCII bytes' : 'valid UTF-8' };
  }
  const problem = implausible1252(bytes);
  if (problem) throw new SniffError(`cannot tell the encoding: the file is not valid UTF-8, and as windows-1252 ${problem}`);
  return { encoding: 'windows-1252', bomLength: 0, reason: 'not valid UTF-8; reads as windows-1252 text' };
}

/** Why the bytes do not read as windows-1252 text, or nothing when they do. */
function implausible1252(bytes: Buffer): string | undefined {
  let high = 0;
  let plausible = 0;
  let controls = 0;
  for (const b of bytes) {
    if (UNDEFINED_1252.has(b)) return `byte 0x${b.toString(16)} is undefined`;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) controls++;
    if (b >= 0x80) high++;
  }
  if (controls > bytes.length / 1000) return `it holds ${controls} control characters: it is not text`;
  const text = iconv.decode(bytes, 'windows-1252');
  for (const ch of text) if (ch.charCodeAt(0) >= 0x80 && (/\p{L}/u.test(ch) || TYPOGRAPHY.includes(ch))) plausible++;
  // In European text the bytes above 0x7f are letters (ä, é, ß) and typography (€, –, “); other bytes read as rare symbols.
  if (high > 0 && plausible < high * 0.8) return `only ${plausible} of its ${high} non-ASCII characters are letters or common punctuation`;
  return undefined;
}

/** Decodes the whole sample with the encoding found (strictly: the engine's decoder reads it the same way). */
export function decodeSample(bytes: Buffer, detected: DetectedEncoding): string {
  const body = bytes.subarray(detected.bomLength);
  if (detected.encoding === 'windows-1252' || detected.encoding === 'latin1') return iconv.decode(body, detected.encoding);
  return new TextDecoder(detected.encoding, { fatal: true, ignoreBOM: true }).decode(body);
}

export type LineEnding = 'CRLF' | 'LF' | 'CR' | 'mixed' | 'none';

/** The line ends the file uses. */
export function detectLineEnding(text: string): LineEnding {
  let crlf = 0;
  let lf = 0;
  let cr = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 13) {
      if (text.charCodeAt(i + 1) === 10) {
        crlf++;
        i++;
      } else cr++;
    } else if (c === 10) lf++;
  }
  const kinds = [crlf && 'CRLF', lf && 'LF', cr && 'CR'].filter(Boolean) as LineEnding[];
  return kinds.length === 0 ? 'none' : kinds.length === 1 ? kinds[0]! : 'mixed';
}

export interface Dialect {
  readonly delimiter: string;
  /** '' when quoting is off. */
  readonly quote: string;
  /** Equal to `quote` for doubled quotes. */
  readonly escape: string;
}

/** The delimiters partners use; the order breaks ties. */
export const DELIMITERS = [',', ';', '\t', '|'] as const;

/**
 * Every candidate dialect, most conventional first: ties go to the earlier one. When double quotes
 * would not change the parse they are kept (future files may quote); single quotes only win by score.
 */
function candidateDialects(): Dialect[] {
  const out: Dialect[] = [];
  for (const quote of ['"', '', "'"]) {
    for (const escape of quote ? [quote, '\\'] : ['']) {
      for (const delimiter of DELIMITERS) out.push({ delimiter, quote, escape });
    }
  }
  return out;
}

/** How much of the file the dialect is scored on. */
const SNIFF_CHARS = 256 * 1024;
const SNIFF_RECORDS = 1000;

export interface ScoredDialect {
  readonly dialect: Dialect;
  /** CleverCSV's pattern score: consistent row lengths score high. */
  readonly pattern: number;
  /** CleverCSV's type score: the share of cells that read as a known type (number, date, e-mail...). */
  readonly type: number;
  readonly score: number;
}

/**
 * Scores every candidate dialect as CleverCSV does (van den Burg et al., 2019): the data consistency
 * Q = P x T, where the pattern score P = (1/K) sum_k N_k (L_k - 1) / L_k over the K distinct row
 * lengths L_k (each seen N_k times) rewards many rows of one length with several cells, and the type
 * score T is the share of cells of a recognisable type. Returns the candidates best first.
 */
export function scoreDialects(text: string): ScoredDialect[] {
  const head = text.slice(0, SNIFF_CHARS);
  const scored = candidateDialects().map((dialect) => {
    const records = parse(head, dialect, 0, false).slice(0, SNIFF_RECORDS);
    const lengths = new Map<number, number>();
    let cells = 0;
    let known = 0;
    for (const r of records) {
      const length = r.error ? 1 : r.fields.length; // a malformed record counts as a pattern of its own, worth nothing
      lengths.set(length, (lengths.get(length) ?? 0) + 1);
      if (r.error) continue;
      for (const f of r.fields) {
        cells++;
        if (isKnownCell(f.trim())) known++;
      }
    }
    let pattern = 0;
    for (const [length, count] of lengths) pattern += (count * (length - 1)) / length;
    pattern = lengths.size === 0 ? 0 : pattern / lengths.size;
    const type = cells === 0 ? 0 : known / cells;
    return { dialect, pattern, type, score: pattern * Math.max(type, 1e-6) };
  });
  // stable: equal scores keep the conventional order
  return scored
    .map((s, i) => ({ s, i }))
    .sort((a, b) => b.s.score - a.s.score || a.i - b.i)
    .map(({ s }) => s);
}

/** Parses text with the engine's own tokenizer. */
export function parse(text: string, dialect: Dialect, skipLines: number, trim: boolean): CsvRecord[] {
  const tokenizer = new CsvTokenizer({ ...dialect, trim, skipLines, maxRecordChars: 1024 * 1024 });
  return [...tokenizer.push(text), ...tokenizer.end()];
}

export interface SniffedLayout {
  readonly dialect: Dialect;
  /** Physical lines before the header (or the first record). */
  readonly skipLines: number;
  readonly header: boolean;
  /** Trim spaces around unquoted values: some cells have them. */
  readonly trim: boolean;
  /** Column names: the header's, or column1, column2... */
  readonly columns: readonly string[];
  /** The data records (after the header), as the engine will read them. */
  readonly rows: readonly CsvRecord[];
  /** The header record, when there is one. */
  readonly headerRecord?: CsvRecord;
}

/** The dialect, preamble, header and trimming of a decoded sample. */
export function sniffLayout(text: string): SniffedLayout {
  const [best] = scoreDialects(text);
  const dialect = best!.dialect;
  const all = parse(text, dialect, 0, false);
  if (all.length === 0) throw new SniffError('the file holds no records');
  const skipLines = preambleLines(all);
  const untrimmed = parse(text, dialect, skipLines, false);
  const trimmed = parse(text, dialect, skipLines, true);
  const trim = trimmed.some((r, i) => r.fields.some((f, j) => f !== untrimmed[i]!.fields[j]));
  const records = trim ? trimmed : untrimmed;
  const header = hasHeader(records);
  const width = records[0]!.fields.length;
  if (header) {
    const names = records[0]!.fields;
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name))
        throw new SniffError(`the header names column ${JSON.stringify(name)} twice; rows could not be read unambiguously`);
      seen.add(name);
    }
  }
  const columns = header ? records[0]!.fields : Array.from({ length: width }, (_, i) => `column${i + 1}`);
  return {
    dialect,
    skipLines,
    header,
    trim,
    columns,
    rows: header ? records.slice(1) : records,
    ...(header ? { headerRecord: records[0]! } : {}),
  };
}

/**
 * Lines before the table: the leading records (among the first ten) whose number of fields differs
 * from the table's usual number, such as an export title above the header.
 */
function preambleLines(records: readonly CsvRecord[]): number {
  const counts = new Map<number, number>();
  for (const r of records) counts.set(r.fields.length, (counts.get(r.fields.length) ?? 0) + 1);
  const usual = [...counts.entries()].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]![0];
  let first = 0;
  while (first < Math.min(10, records.length - 1) && records[first]!.fields.length !== usual) first++;
  return records[first]!.line - 1;
}

/**
 * Whether the first record names the columns, as Python's csv.Sniffer decides: for each column whose
 * data cells share a type (or a length), the first cell votes for a header when it does not share
 * it. Without votes (all text of varying length), a first row of distinct, non-empty names that
 * never recur below it is a header.
 */
export function hasHeader(records: readonly CsvRecord[]): boolean {
  const [first, ...rest] = records;
  if (!first) return false;
  const body = rest.filter((r) => !r.error && r.fields.length === first.fields.length).slice(0, 50);
  let votes = 0;
  first.fields.forEach((cell, j) => {
    const values = body.map((r) => r.fields[j]!).filter((v) => v.trim() !== '');
    if (values.length === 0) return;
    if (values.every((v) => isKnownCell(v.trim()))) {
      votes += isKnownCell(cell.trim()) ? -1 : 1;
      return;
    }
    const length = values[0]!.length;
    if (values.every((v) => v.length === length)) votes += cell.length === length ? -1 : 1;
  });
  if (votes !== 0) return votes > 0;
  const names = first.fields.map((f) => f.trim());
  return (
    names.every((n) => n !== '' && !isKnownCell(n)) &&
    new Set(names).size === names.length &&
    names.every((n, j) => !body.some((r) => r.fields[j]!.trim() === n))
  );
}
