/**
 * `partner-etl preview`: the first rows of a file through a feed, as a person checks a mapping:
 * each row's input cells beside its output fields, a rejected row with its code and reason, and
 * which expressions run compiled and which on the JSONata interpreter. The rows are the engine's
 * own: the head of the file (cut after a line break) runs through `transformFile`, and the same
 * bytes through the engine's decoder and tokenizer give the cells. Nothing is written anywhere.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { compileJsonata } from '../../lambdas/transformer/engine/compile-jsonata.js';
import { tokenizerFor, type CsvRecord } from '../../lambdas/transformer/engine/csv-tokenizer.js';
import { decodeStream, pickEncoding } from '../../lambdas/transformer/engine/decode.js';
import type { FileWarning } from '../../lambdas/transformer/engine/header-drift.js';
import type { FileError, FileOutcome } from '../../lambdas/transformer/engine/outcome.js';
import { DEFAULT_ENGINE_LIMITS } from '../../lambdas/transformer/engine/transform.js';
import type { Encoding, FeedConfig } from '../../lambdas/transformer/model.js';
import { escapeControls } from '../cli/terminal.js';
import { runInMemory, type InMemoryRun } from './run-in-memory.js';

/** One data row of the preview. */
export interface PreviewRow {
  /** Data record number (1-based) and the physical line it starts on. */
  readonly record: number;
  readonly line: number;
  readonly cells: readonly string[];
  /** The output record, or the reject. */
  readonly output?: Record<string, unknown>;
  readonly reject?: { readonly code: string; readonly field?: string; readonly message: string };
}

/** How one expression runs: `compiled` (ahead of time), or `interpreter`; `deferred` rows of the preview went to the interpreter anyway. */
export interface ExpressionStatus {
  /** The output field (dotted), or `(whole record)` for a `mappingFile`. */
  readonly field: string;
  readonly runs: 'compiled' | 'interpreter';
  readonly deferred: number;
  readonly reason?: string;
}

export interface Preview {
  readonly columns: readonly string[];
  readonly rows: readonly PreviewRow[];
  readonly expressions: readonly ExpressionStatus[];
  /** A file-level error in the rows read (MISSING_COLUMNS, ENCODING_ERROR, ...): there are no rows then. */
  readonly fileError?: FileError;
  readonly warnings: readonly FileWarning[];
  /** The file holds more rows than shown. */
  readonly more: boolean;
}

/** The head of the file read first, grown fourfold until it holds the rows asked for. */
const FIRST_HEAD_BYTES = 256 * 1024;
/** The largest head read: a preview never reads a big file whole. */
export const MAX_HEAD_BYTES = 64 * 1024 * 1024;

/** Runs the first `rows` rows of the file at `path` (of `sizeBytes`) through the feed; `key` is bound as `$source.key`. */
export async function previewFile(feed: FeedConfig, path: string, sizeBytes: number, rows: number, key: string): Promise<Preview> {
  // Every row is shown, so the rejected share never fails the preview.
  const showAll = { ...feed, errors: { maxRejectedPercent: 100 } };
  let headBytes = Math.min(sizeBytes, FIRST_HEAD_BYTES);
  for (;;) {
    const whole = headBytes >= sizeBytes;
    const head = readHead(path, headBytes);
    const bytes = whole ? head : cutAfterLastLineBreak(head, feed.csv.encoding);
    if (bytes === head && !whole && headBytes < MAX_HEAD_BYTES) {
      headBytes = Math.min(sizeBytes, headBytes * 4, MAX_HEAD_BYTES); // no line break yet: a cut would split a character
      continue;
    }
    const run = await runInMemory(showAll, bytes, key);
    // A cut head may end inside its last record: the rows before it are whole.
    const complete = whole ? run.outcome.rowsIn : run.outcome.rowsIn - 1;
    if (complete >= rows || whole || run.outcome.status === 'FAILED' || headBytes >= MAX_HEAD_BYTES) {
      return assemble(feed, bytes, run, Math.max(0, Math.min(rows, complete)), !whole || complete > rows);
    }
    headBytes = Math.min(sizeBytes, headBytes * 4, MAX_HEAD_BYTES);
  }
}

function readHead(path: string, bytes: number): Buffer {
  const buffer = Buffer.alloc(bytes);
  const fd = openSync(path, 'r');
  try {
    let read = 0;
    while (read < bytes) {
      const n = readSync(fd, buffer, read, bytes - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/** The bytes up to the last line feed, in code units of the file's encoding (a character is never cut); all of them when there is none. */
export function cutAfterLastLineBreak(bytes: Buffer, declared: Encoding): Buffer {
  let encoding: Encoding;
  try {
    encoding = pickEncoding(bytes, declared).encoding;
  } catch {
    return bytes; // the engine reports why the bytes cannot be read
  }
  if (encoding === 'utf-16le' || encoding === 'utf-16be') {
    const [lf, zero] = encoding === 'utf-16le' ? [0, 1] : [1, 0];
    for (let i = (bytes.length & ~1) - 2; i >= 0; i -= 2) {
      if (bytes[i + lf] === 0x0a && bytes[i + zero] === 0) return bytes.subarray(0, i + 2);
    }
    return bytes;
  }
  const at = bytes.lastIndexOf(0x0a);
  return at < 0 ? bytes : bytes.subarray(0, at + 1);
}

/** The engine's records (header first when the feed has one), from the same bytes through the engine's decoder and tokenizer. */
async function tokenize(feed: FeedConfig, bytes: Buffer, limit: number): Promise<CsvRecord[]> {
  const csv = feed.csv;
  const tokenizer = tokenizerFor(csv, DEFAULT_ENGINE_LIMITS.maxRecordChars);
  const records: CsvRecord[] = [];
  for await (const text of decodeStream(Readable.from([bytes]), { encoding: csv.encoding, maxBytes: Number.MAX_SAFE_INTEGER })) {
    records.push(...tokenizer.push(text));
    if (records.length >= limit) return records.slice(0, limit);
  }
  records.push(...tokenizer.end());
  return records.slice(0, limit);
}

async function assemble(feed: FeedConfig, bytes: Buffer, run: InMemoryRun, shown: number, more: boolean): Promise<Preview> {
  const expressions = expressionStatuses(feed, run.outcome);
  const warnings = run.outcome.warnings ?? [];
  const fileError = run.outcome.status === 'FAILED' ? (run.outcome.errors[0] as FileError) : undefined;
  if (fileError) return { columns: [], rows: [], expressions, fileError, warnings, more: false };
  const headed = feed.csv.header ? 1 : 0;
  const records = await tokenize(feed, bytes, shown + headed);
  const columns = feed.csv.header ? (records[0]?.fields ?? []) : (feed.csv.columns ?? []);
  const rejects = new Map(run.rejects.map((r) => [r.record, r]));
  const outputs = parseOutput(run.output.toString('utf8'), feed.output.format);
  let next = 0;
  const rows = records.slice(headed).map((record, i): PreviewRow => {
    const number = i + 1;
    const reject = rejects.get(number);
    const base = { record: number, line: record.line, cells: record.fields };
    if (reject) {
      return { ...base, reject: { code: reject.code, message: reject.message, ...(reject.field ? { field: reject.field } : {}) } };
    }
    return { ...base, output: outputs[next++] ?? {} };
  });
  return { columns, rows, expressions, warnings, more };
}

function parseOutput(text: string, format: 'ndjson' | 'json'): Record<string, unknown>[] {
  if (format === 'json') return text.trim() === '' ? [] : (JSON.parse(text) as Record<string, unknown>[]);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Each expression's status: compiled ahead of time or not, and the rows of the preview that went to the interpreter anyway. */
export function expressionStatuses(feed: FeedConfig, outcome: FileOutcome): ExpressionStatus[] {
  const fallbacks = new Map((outcome.mappingFallbacks ?? []).map((f) => [f.field, f]));
  const entries =
    feed.mapping.kind === 'fields'
      ? feed.mapping.fields.map((f) => ({ field: f.name, pointer: pointerOf(f.path), expression: f.expression }))
      : [{ field: '(whole record)', pointer: '', expression: feed.mapping.expression }];
  return entries.map(({ field, pointer, expression }) => {
    const fallback = fallbacks.get(pointer);
    return {
      field,
      runs: compileJsonata(expression) ? 'compiled' : 'interpreter',
      deferred: fallback?.deferred ?? 0,
      ...(fallback?.reason ? { reason: fallback.reason } : {}),
    };
  });
}

function pointerOf(path: readonly string[]): string {
  return `/${path.map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
}

// ---- rendering ----------------------------------------------------------------------------------

/** Widest cell shown; longer text is cut with an ellipsis. */
const MAX_CELL_CHARS = 32;
const RED = '\x1b[31m';
const RESET = '\x1b[0m';

/**
 * The preview as text: the input table (line, then the header's columns), the output table (line,
 * status, then the output fields, dotted), the expressions. With `color`, rejected rows are red;
 * without, they read the same but for the color. Every cell, header and message has its control
 * characters escaped (a line break in a cell as `\n`), so only the color codes this adds reach the terminal.
 */
export function renderPreview(preview: Preview, options: { color: boolean }): string {
  const red = (text: string) => (options.color ? `${RED}${text}${RESET}` : text);
  const out: string[] = [];
  if (preview.fileError) {
    const e = preview.fileError;
    out.push(red(`the file fails before its rows: ${cell(e.message, Infinity)} [${e.code}]${e.line ? ` (line ${e.line})` : ''}`));
  }
  for (const w of preview.warnings) out.push(`warning: ${cell(w.message, Infinity)} [${w.code}]`);
  if (!preview.fileError) {
    out.push(`input (${preview.rows.length} row${preview.rows.length === 1 ? '' : 's'}${preview.more ? ', more in the file' : ''})`);
    out.push(
      ...table(
        ['line', ...preview.columns],
        preview.rows.map((r) => ({ cells: [String(r.line), ...r.cells], red: r.reject !== undefined })),
        red,
      ),
    );
    const fields = outputFields(preview.rows);
    out.push('', 'output');
    out.push(
      ...table(
        ['line', 'status', ...fields.map((f) => f.join('.'))],
        preview.rows.map((r) =>
          r.reject
            ? {
                cells: [String(r.line), r.reject.code],
                rest: r.reject.message,
                red: true,
              }
            : { cells: [String(r.line), 'ok', ...fields.map((f) => show(valueAt(r.output!, f)))], red: false },
        ),
        red,
      ),
    );
  }
  out.push('', 'expressions');
  const width = Math.max(0, ...preview.expressions.map((e) => cell(e.field, MAX_CELL_CHARS).length));
  for (const e of preview.expressions) {
    const deferred =
      e.deferred > 0 ? `; ${e.deferred} row${e.deferred === 1 ? '' : 's'} handed to the interpreter (${cell(e.reason ?? '', 120)})` : '';
    out.push(
      `  ${cell(e.field, MAX_CELL_CHARS).padEnd(width)}  ${e.runs === 'compiled' ? 'compiled' : 'interpreter (outside the compiled subset)'}${deferred}`,
    );
  }
  return `${out.join('\n')}\n`;
}

interface TableRow {
  readonly cells: readonly string[];
  /** Text after the cells, not in a column (a reject's reason). */
  readonly rest?: string;
  readonly red: boolean;
}

function table(header: readonly string[], rows: readonly TableRow[], red: (text: string) => string): string[] {
  const head = header.map((h) => cell(h, MAX_CELL_CHARS));
  const body = rows.map((r) => ({ ...r, cells: r.cells.map((c) => cell(c, MAX_CELL_CHARS)), rest: r.rest && cell(r.rest, 240) }));
  const widths = head.map((h, i) =>
    Math.max(h.length, ...body.map((r) => (r.rest !== undefined && i >= r.cells.length ? 0 : (r.cells[i]?.length ?? 0)))),
  );
  const line = (cells: readonly string[], rest?: string) =>
    [...cells.map((c, i) => c.padEnd(widths[i]!)), ...(rest === undefined ? [] : [rest])].join('  ').trimEnd();
  return [
    `  ${line(head)}`,
    `  ${widths.map((w) => '-'.repeat(w)).join('  ')}`,
    ...body.map((r) => `  ${r.red ? red(line(r.cells, r.rest)) : line(r.cells, r.rest)}`),
  ];
}

/** Text for a cell: control characters escaped, a line break as `\n`, cut at `max` characters. */
function cell(text: string, max: number): string {
  const safe = escapeControls(text).replace(/\n/g, '\\n');
  return safe.length > max ? `${safe.slice(0, max - 1)}…` : safe;
}

/** The paths of the output fields of the shown rows (nested objects walked into), in order of first appearance. */
function outputFields(rows: readonly PreviewRow[]): string[][] {
  const fields = new Map<string, string[]>();
  const walk = (value: Record<string, unknown>, prefix: string[]) => {
    for (const [key, v] of Object.entries(value)) {
      const path = [...prefix, key];
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, path);
      else if (!fields.has(JSON.stringify(path))) fields.set(JSON.stringify(path), path);
    }
  };
  for (const r of rows) if (r.output) walk(r.output, []);
  return [...fields.values()];
}

function valueAt(record: Record<string, unknown>, path: readonly string[]): unknown {
  let value: unknown = record;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function show(value: unknown): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
