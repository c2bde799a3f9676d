import type { Writable } from 'node:stream';
import type { CsvConfig, Encoding } from '../model.js';
import type { FileOutcome, RowReject } from './outcome.js';
import { windows1252Byte } from './single-byte.js';

/**
 * The partner's reject report: the rejected rows as a CSV the partner can open, fix and send again,
 * and a one-page summary of why (text and a self-contained HTML page). The CSV is written as rows
 * are rejected, beside the rejects NDJSON; a file without rejects never touches it.
 */

/** What the file itself looked like, reported by `transformFile` (`onDialect`). */
export interface FileDialect {
  /** The encoding the file was read in (its byte-order mark's, or the declared one). */
  readonly encoding: Encoding;
  /** Whether the file began with a byte-order mark. */
  readonly bom: boolean;
  /** The file's first line break (`\r\n`, `\n` or `\r`); `\n` when it has none. */
  readonly lineBreak: string;
  /** The header record exactly as sent (decoded, without its line break); absent for a headerless feed. */
  readonly header?: string;
}

/** The columns the report puts in front of the partner's row: in front, so a malformed row cannot shift them. */
export const REPORT_COLUMNS = ['line', 'error_code', 'field', 'reason'] as const;

/** How many reasons the summary lists, and how many examples each. */
const TOP_REASONS = 10;
const EXAMPLES = 3;
/** Distinct reasons counted; the rest are counted together. */
const MAX_REASONS = 1000;
const EXAMPLE_CHARS = 300;

export interface RejectReason {
  readonly code: string;
  readonly field?: string;
  count: number;
  readonly examples: { line: number; message: string; raw: string }[];
}

export interface RejectTally {
  readonly rows: number;
  /** Most frequent first. */
  readonly reasons: readonly RejectReason[];
  /** Rejects whose reason was not counted separately (beyond MAX_REASONS distinct ones). */
  readonly otherRows: number;
}

/**
 * Writes the report CSV as rows are rejected: a header (the report columns, then the partner's
 * header exactly as sent, or the declared columns of a headerless feed), then per rejected row its
 * line, code, field and reason, then the row exactly as sent. In the file's delimiter, quote, line
 * break and encoding (with its byte-order mark when it had one), so each row's bytes are the
 * partner's own (`pii` values masked, as in the rejects). Counts the reasons for the summary.
 */
export class RejectCsvWriter {
  private encode: ((text: string) => Buffer) | undefined;
  private lineBreak = '\n';
  private readonly cell: (value: string) => string;
  private readonly reasons = new Map<string, RejectReason>();
  private rows = 0;
  private otherRows = 0;

  constructor(
    private readonly out: Writable,
    private readonly csv: Pick<CsvConfig, 'delimiter' | 'quote' | 'escape' | 'columns'>,
  ) {
    this.cell = cellWriter(csv);
  }

  /** One rejected row; `dialect` is what the file showed so far (settled before its first data row). */
  add(reject: RowReject, dialect: () => FileDialect): Promise<void> | undefined {
    let text = '';
    if (!this.encode) {
      const settled = dialect();
      this.encode = encoderFor(settled.encoding);
      this.lineBreak = settled.lineBreak;
      const { delimiter, columns } = this.csv;
      const header = settled.header ?? (columns ?? []).map(this.cell).join(delimiter);
      text = `${settled.bom ? '\ufeff' : ''}${REPORT_COLUMNS.join(delimiter)}${delimiter}${header}${this.lineBreak}`;
    }
    this.rows++;
    const reasonCells = [String(reject.line), reject.code, reject.field ?? '', oneLine(reject.message)].map(this.cell);
    text += `${reasonCells.join(this.csv.delimiter)}${this.csv.delimiter}${reject.raw}${this.lineBreak}`;
    this.count(reject);
    if (this.out.write(this.encode(text))) return undefined;
    return new Promise<void>((resolve) => this.out.once('drain', resolve));
  }

  tally(): RejectTally {
    return { rows: this.rows, otherRows: this.otherRows, reasons: [...this.reasons.values()].sort((a, b) => b.count - a.count) };
  }

  private count(reject: RowReject): void {
    const id = `${reject.code}\u0000${reject.field ?? ''}`;
    let reason = this.reasons.get(id);
    if (!reason) {
      if (this.reasons.size >= MAX_REASONS) {
        this.otherRows++;
        return;
      }
      reason = { code: reject.code, ...(reject.field === undefined ? {} : { field: reject.field }), count: 0, examples: [] };
      this.reasons.set(id, reason);
    }
    reason.count++;
    if (reason.examples.length < EXAMPLES) {
      reason.examples.push({ line: reject.line, message: clip(oneLine(reject.message)), raw: clip(reject.raw) });
    }
  }
}

/** What the summary says about the file besides its rejects. */
export interface ReportFile {
  readonly key: string;
  readonly reportKey?: string;
}

/** The one-page summary as plain text. */
export function rejectSummaryText(outcome: FileOutcome, tally: RejectTally | undefined, file: ReportFile): string {
  const lines = [
    `Reject report for ${outcome.partner}/${outcome.feed}: ${file.key}`,
    `Status: ${outcome.status}. ${outcome.rowsIn} rows read, ${outcome.rowsOut} accepted, ${outcome.rowsRejected} rejected.`,
  ];
  if (outcome.status === 'FAILED') lines.push(failedSentence());
  for (const error of outcome.errors) if (!('record' in error)) lines.push(`File error ${error.code}: ${oneLine(error.message)}`);
  if (file.reportKey)
    lines.push(`Rejected rows, to fix and send again: ${file.reportKey} (drop the first ${REPORT_COLUMNS.length} columns)`);
  if (tally && tally.reasons.length > 0) {
    lines.push('', 'Top reasons:');
    for (const reason of tally.reasons.slice(0, TOP_REASONS)) {
      lines.push(`  ${reason.count} x ${reasonTitle(reason)}`);
      for (const example of reason.examples) {
        lines.push(`    line ${example.line}: ${example.message}`, `      row: ${example.raw}`);
      }
    }
    const more = tally.reasons.slice(TOP_REASONS).reduce((n, r) => n + r.count, tally.otherRows);
    if (more > 0) lines.push(`  ${more} more rows with other reasons`);
  }
  return `${lines.join('\n')}\n`;
}

/** The one-page summary as a small self-contained HTML page (no script, no external resource). */
export function rejectSummaryHtml(outcome: FileOutcome, tally: RejectTally | undefined, file: ReportFile): string {
  const e = escapeHtml;
  const parts = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>Reject report: ${e(outcome.partner)}/${e(outcome.feed)}</title>`,
    '<style>body{font:14px/1.4 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}' +
      'table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}' +
      'code{white-space:pre-wrap;word-break:break-all}.FAILED{color:#b00}.PARTIAL{color:#a60}</style>',
    '</head><body>',
    `<h1>Reject report for ${e(outcome.partner)}/${e(outcome.feed)}</h1>`,
    `<p>File <code>${e(file.key)}</code>: <strong class="${e(outcome.status)}">${e(outcome.status)}</strong></p>`,
    '<table><tr><th>rows read</th><th>accepted</th><th>rejected</th></tr>',
    `<tr><td>${outcome.rowsIn}</td><td>${outcome.rowsOut}</td><td>${outcome.rowsRejected}</td></tr></table>`,
  ];
  if (outcome.status === 'FAILED') parts.push(`<p>${e(failedSentence())}</p>`);
  for (const error of outcome.errors) {
    if (!('record' in error)) parts.push(`<p>File error <code>${e(error.code)}</code>: ${e(oneLine(error.message))}</p>`);
  }
  if (file.reportKey) {
    parts.push(
      `<p>Rejected rows, to fix and send again: <code>${e(file.reportKey)}</code> (drop the first ${REPORT_COLUMNS.length} columns).</p>`,
    );
  }
  if (tally && tally.reasons.length > 0) {
    parts.push('<h2>Top reasons</h2>', '<table><tr><th>rows</th><th>reason</th><th>examples</th></tr>');
    for (const reason of tally.reasons.slice(0, TOP_REASONS)) {
      const examples = reason.examples.map((x) => `line ${x.line}: ${e(x.message)}<br><code>${e(x.raw)}</code>`).join('<br>');
      parts.push(`<tr><td>${reason.count}</td><td>${e(reasonTitle(reason))}</td><td>${examples}</td></tr>`);
    }
    parts.push('</table>');
    const more = tally.reasons.slice(TOP_REASONS).reduce((n, r) => n + r.count, tally.otherRows);
    if (more > 0) parts.push(`<p>${more} more rows with other reasons.</p>`);
  }
  parts.push('</body></html>');
  return `${parts.join('\n')}\n`;
}

function failedSentence(): string {
  return 'The file failed: nothing of it was published. Fix it and send the whole file again.';
}

function reasonTitle(reason: RejectReason): string {
  return reason.field ? `${reason.code} at ${reason.field}` : reason.code;
}

/** A cell of the report columns in the feed's dialect: quoted when it must be, or (quoting off) made safe. */
function cellWriter(csv: Pick<CsvConfig, 'delimiter' | 'quote' | 'escape'>): (value: string) => string {
  const { delimiter, quote, escape } = csv;
  if (quote === '') return (value) => value.split(delimiter).join(' ');
  return (value) => {
    if (!value.includes(delimiter) && !value.includes(quote) && !(escape && value.includes(escape)) && !/^\s|\s$/.test(value)) return value;
    let inner = value;
    if (escape && escape !== quote) inner = inner.split(escape).join(escape + escape);
    inner = inner.split(quote).join((escape || quote) + quote);
    return `${quote}${inner}${quote}`;
  };
}

/** Line breaks and other control characters out of a one-line value (a reason, an example). */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}

function clip(text: string): string {
  return text.length > EXAMPLE_CHARS ? `${text.slice(0, EXAMPLE_CHARS)}...` : text;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Text to the file's bytes. Decoding never produced a character the encoding lacks, except U+FFFD for an undefined windows-1252 byte. */
function encoderFor(encoding: Encoding): (text: string) => Buffer {
  switch (encoding) {
    case 'utf-8':
      return (text) => Buffer.from(text, 'utf8');
    case 'utf-16le':
      return (text) => Buffer.from(text, 'utf16le');
    case 'utf-16be':
      return (text) => Buffer.from(text, 'utf16le').swap16();
    case 'latin1':
      return (text) => Buffer.from(text, 'latin1');
    case 'windows-1252':
      return (text) => {
        const bytes = Buffer.from(text, 'latin1');
        for (let i = 0; i < text.length; i++) {
          if (text.charCodeAt(i) >= 0x80) bytes[i] = windows1252Byte(text[i]!) ?? 0x3f;
        }
        return bytes;
      };
  }
}
