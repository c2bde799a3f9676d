/**
 * A streaming CSV tokenizer with exact physical line numbers and record-level error recovery.
 *
 * Why not csv-parse alone: csv-parse 6 counts a CRLF inside a quoted field as two lines, and after
 * a bad closing quote it swallows the records that follow into the broken one (measured in
 * test/lambdas/transformer/engine/csv-tokenizer.test.ts). A data platform must reject exactly the
 * broken record and keep every other one, with the line where it starts. csv-parse stays the
 * reference: on well-formed input both give the same records (property-tested).
 *
 * Dialect: one-character delimiter, quote (or none) and escape; records end at CRLF, LF or a lone
 * CR, mixed freely; empty lines are skipped; a quote inside an unquoted field is kept as data (as
 * csv-parse's `relax_quotes`, papaparse and Python's csv do).
 */
import type { CsvConfig } from '../model.js';

export interface TokenizerOptions {
  readonly delimiter: string;
  /** Quote character, or '' for none. */
  readonly quote: string;
  /** Escape character inside quotes; equal to `quote` for doubled quotes. */
  readonly escape: string;
  /** Trim spaces and tabs around unquoted values, and around quoted ones outside the quotes. */
  readonly trim: boolean;
  /** Physical lines to skip before the first record. */
  readonly skipLines: number;
  /** Longest record, in characters; a longer one is rejected (its content dropped as it streams). */
  readonly maxRecordChars: number;
  /** The physical line of the first character (a split chunk starts inside the file); default 1. */
  readonly firstLine?: number;
}

export interface CsvRecord {
  readonly fields: string[];
  /** 1-based physical line where the record starts. */
  readonly line: number;
  /** The record's text without its terminator (its first `RAW_LIMIT` characters for an oversized record). */
  readonly raw: string;
  /** Set when the record is malformed; its fields are then not to be trusted. */
  readonly error?: string;
}

/** The tokenizer a feed's `csv` settings call for, reading a file from its start. */
export function tokenizerFor(csv: CsvConfig, maxRecordChars: number): CsvTokenizer {
  return new CsvTokenizer({
    delimiter: csv.delimiter,
    quote: csv.quote,
    escape: csv.escape,
    trim: csv.trim,
    skipLines: csv.skipLines,
    maxRecordChars,
  });
}

/** How much of an oversized record is kept for the rejects file. */
export const RAW_LIMIT = 1024;

/**
 * Tokenizer states, as plain numbers: a `const enum` is not inlined by per-file transpilers (tsx,
 * isolatedModules) and a property load per character costs a third of the scan.
 */
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
/** Inside quotes, just after a quote char (escape === quote) or escape char. */
const QUOTED_ESCAPE = 3;
const AFTER_QUOTE = 4;
type State = 0 | 1 | 2 | 3 | 4;

const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;

/** Push decoded text in, take complete records out; `end()` flushes the last one. */
export class CsvTokenizer {
  private readonly delim: number;
  private readonly quote: number;
  private readonly escape: number;
  private readonly trim: boolean;
  private readonly maxRecordChars: number;

  private buf = '';
  private pos = 0;
  private line = 1;
  private skipRemaining: number;
  /** The previous character was a CR, so an LF now completes its line break. */
  private afterCR = false;

  private state: State = FIELD_START;
  private recordStart = 0;
  private recordLine = 1;
  private inRecord = false;
  private fields: string[] = [];
  private fieldStart = 0;
  private quoted = '';
  private segmentStart = 0;
  private quoteLine = 0;
  private error: string | undefined;
  /** When the record outgrew the bound: its first characters, the rest is being dropped. */
  private oversizedRaw: string | undefined;

  constructor(options: TokenizerOptions) {
    if (options.delimiter.length !== 1) throw new RangeError('delimiter must be one character');
    this.delim = options.delimiter.charCodeAt(0);
    this.quote = options.quote ? options.quote.charCodeAt(0) : -1;
    this.escape = options.escape ? options.escape.charCodeAt(0) : this.quote;
    this.trim = options.trim;
    this.maxRecordChars = options.maxRecordChars;
    this.skipRemaining = options.skipLines;
    this.line = options.firstLine ?? 1;
  }

  push(text: string): CsvRecord[] {
    const from = this.rebaseFrom();
    this.buf = this.buf.slice(from) + text;
    const out: CsvRecord[] = [];
    this.scan(out, false);
    if (this.inRecord && this.pos - this.recordStart > this.maxRecordChars && this.oversizedRaw === undefined) {
      this.oversizedRaw = this.buf.slice(this.recordStart, this.recordStart + Math.min(RAW_LIMIT, this.maxRecordChars));
      this.error = `record is longer than ${this.maxRecordChars} characters`;
    }
    return out;
  }

  end(): CsvRecord[] {
    const out: CsvRecord[] = [];
    this.scan(out, true);
    if (this.inRecord) {
      if (this.state === QUOTED) {
        this.error ??= `quote opened on line ${this.quoteLine} is never closed`;
        this.fields.push(this.quoted + this.buf.slice(this.segmentStart));
        this.emit(out, this.buf.length);
      } else {
        this.endField(this.buf.length);
        this.emit(out, this.buf.length);
      }
    }
    this.buf = '';
    this.pos = 0;
    return out;
  }

  /** Drops consumed text from the buffer, shifting the offsets that point into it. */
  private rebaseFrom(): number {
    let from = this.inRecord ? this.recordStart : this.pos;
    if (this.oversizedRaw !== undefined) from = this.pos; // the content is being dropped
    this.recordStart -= from;
    this.fieldStart -= from;
    this.segmentStart -= from;
    this.pos -= from;
    if (this.oversizedRaw !== undefined) {
      // Values of an oversized record are never used; keep offsets valid without holding the text.
      this.recordStart = Math.min(this.recordStart, 0);
      this.fieldStart = Math.max(this.fieldStart, 0);
      this.segmentStart = Math.max(this.segmentStart, 0);
      this.quoted = '';
    }
    return from;
  }

  private scan(out: CsvRecord[], final: boolean): void {
    const buf = this.buf;
    const n = buf.length;
    let i = this.pos;

    while (this.skipRemaining > 0 && i < n) {
      const c = buf.charCodeAt(i++);
      if (c === CR) {
        this.line++;
        this.afterCR = true;
        this.skipRemaining--;
      } else if (c === LF && this.afterCR) {
        this.afterCR = false; // the second half of a CRLF already counted
      } else if (c === LF) {
        this.line++;
        this.skipRemaining--;
      } else {
        this.afterCR = false;
      }
    }
    if (this.skipRemaining > 0) {
      this.pos = i;
      return;
    }

    const delim = this.delim;
    const quote = this.quote;
    const escape = this.escape;
    while (i < n) {
      // Fast paths: inside a field, run over ordinary characters without the state machine.
      if (this.state === UNQUOTED) {
        while (i < n) {
          const d = buf.charCodeAt(i);
          if (d === delim || d === LF || d === CR) break;
          i++;
        }
        if (i === n) break;
      } else if (this.state === QUOTED) {
        const from = i;
        while (i < n) {
          const d = buf.charCodeAt(i);
          if (d === quote || d === escape || d === LF || d === CR) break;
          i++;
        }
        if (i > from) this.afterCR = false;
        if (i === n) break;
      }
      const c = buf.charCodeAt(i);
      if (this.afterCR && c !== LF) this.afterCR = false;
      switch (this.state) {
        case FIELD_START: {
          if (!this.inRecord) {
            if (c === LF || c === CR) {
              // an empty line, or the LF of a CRLF whose CR ended the previous record
              this.lineBreak(c);
              i++;
              continue;
            }
            this.inRecord = true;
            this.recordStart = i;
            this.recordLine = this.line;
            this.fieldStart = i;
          }
          if (c === this.quote) {
            this.state = QUOTED;
            this.quoted = '';
            this.segmentStart = i + 1;
            this.quoteLine = this.line;
          } else if (c === this.delim) {
            this.fields.push('');
            this.fieldStart = i + 1;
          } else if (c === LF || c === CR) {
            this.fields.push('');
            this.emit(out, i);
            this.lineBreak(c);
          } else if (this.trim && (c === SPACE || c === TAB)) {
            // leading blanks: the field may still turn out to be quoted
          } else {
            this.state = UNQUOTED;
          }
          i++;
          continue;
        }
        case UNQUOTED: {
          if (c === this.delim) {
            this.endField(i);
            this.fieldStart = i + 1;
            this.state = FIELD_START;
          } else if (c === LF || c === CR) {
            this.endField(i);
            this.emit(out, i);
            this.lineBreak(c);
          }
          i++;
          continue;
        }
        case QUOTED: {
          if (c === this.escape || c === this.quote) {
            if (c === this.escape) {
              this.state = QUOTED_ESCAPE;
            } else {
              this.closeQuote(i);
            }
          } else if (c === LF || c === CR) {
            this.lineBreak(c);
          }
          i++;
          continue;
        }
        case QUOTED_ESCAPE: {
          const prev = i - 1;
          if (c === this.quote || (c === this.escape && this.escape !== this.quote)) {
            // an escaped quote (or escaped escape): keep the character, drop the escape
            if (this.oversizedRaw === undefined) this.quoted += buf.slice(this.segmentStart, prev);
            this.segmentStart = i;
            this.state = QUOTED;
            i++;
            continue;
          }
          if (this.escape === this.quote) {
            // the quote before this character closed the field
            this.closeQuote(prev);
            continue; // re-read c in AfterQuote
          }
          // an escape before an ordinary character is data
          this.state = QUOTED;
          continue;
        }
        case AFTER_QUOTE: {
          if (c === this.delim) {
            this.fields.push(this.quoted);
            this.fieldStart = i + 1;
            this.state = FIELD_START;
          } else if (c === LF || c === CR) {
            this.fields.push(this.quoted);
            this.emit(out, i);
            this.lineBreak(c);
          } else if (this.trim && (c === SPACE || c === TAB)) {
            // trailing blanks after the closing quote
          } else {
            this.error ??= `unexpected character ${JSON.stringify(buf[i])} after the closing quote of field ${this.fields.length + 1}`;
            // recover: the rest of the line belongs to this field, the record is rejected
            this.state = UNQUOTED;
            continue;
          }
          i++;
          continue;
        }
      }
    }
    if (final && this.state === QUOTED_ESCAPE) {
      if (this.escape === this.quote) this.closeQuote(n - 1);
      else this.state = QUOTED;
    }
    if (final && this.state === AFTER_QUOTE && this.inRecord) {
      this.fields.push(this.quoted);
      this.emit(out, n);
    }
    this.pos = i;
  }

  private closeQuote(at: number): void {
    if (this.oversizedRaw === undefined) this.quoted += this.buf.slice(this.segmentStart, at);
    this.state = AFTER_QUOTE;
  }

  private endField(end: number): void {
    if (this.oversizedRaw !== undefined) {
      this.fields.push('');
      return;
    }
    let value = this.buf.slice(this.fieldStart, end);
    if (this.state === AFTER_QUOTE) value = this.quoted;
    else if (this.trim) value = value.replace(/^[ \t]+|[ \t]+$/g, '');
    this.fields.push(value);
  }

  private emit(out: CsvRecord[], end: number): void {
    if (this.oversizedRaw === undefined && end - this.recordStart > this.maxRecordChars) {
      this.oversizedRaw = this.buf.slice(this.recordStart, this.recordStart + Math.min(RAW_LIMIT, this.maxRecordChars));
      this.error = `record is longer than ${this.maxRecordChars} characters`;
    }
    const raw = this.oversizedRaw ?? this.buf.slice(this.recordStart, end);
    const record: CsvRecord = this.error
      ? { fields: this.fields, line: this.recordLine, raw, error: this.error }
      : { fields: this.fields, line: this.recordLine, raw };
    out.push(record);
    this.fields = [];
    this.inRecord = false;
    this.state = FIELD_START;
    this.error = undefined;
    this.oversizedRaw = undefined;
    this.quoted = '';
  }

  /** Counts a CR, an LF, or the LF of a CRLF whose CR was already counted. */
  private lineBreak(c: number): void {
    if (c === CR) {
      this.line++;
      this.afterCR = true;
    } else {
      if (!this.afterCR) this.line++;
      this.afterCR = false;
    }
  }
}
