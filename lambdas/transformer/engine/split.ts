/**
 * Splitting one file into byte ranges that each start on a record boundary, so that the ranges can
 * run in parallel (Step Functions Distributed Map, or the local worker pool) and still give exactly
 * the records, rejects, line numbers and counts of a whole-file run.
 *
 * The plan is one sequential pass over the bytes that follows the tokenizer's quote state without
 * building fields (`RecordBoundaryScanner`), so a quoted field with line breaks in it is never cut.
 * It works on code units of the file's encoding: bytes for UTF-8 and the single-byte charsets,
 * 16-bit units for UTF-16, so a boundary never falls inside a character. Each chunk but the first
 * starts on the first unit of a data record at or after its target offset and carries that record's
 * physical line and the number of data records before it; the BOM, the `skipLines` preamble and the
 * header belong to the first chunk, and the header's column names go to every other chunk.
 */
import type { Encoding, FeedConfig } from '../model.js';
import { tokenizerFor } from './csv-tokenizer.js';
import { decodeStream, pickEncoding, SNIFF_BYTES } from './decode.js';
import type { FileError, FileOutcome, RowError } from './outcome.js';
import { mergeFallbacks } from './mapping.js';
import { windows1252Byte } from './single-byte.js';
import { checkHeader, DEFAULT_ENGINE_LIMITS, settleOutcome, type ChunkStart, type CompiledFeed } from './transform.js';

/** Most chunks one file is planned into (Distributed Map runs at most 10,000 children at once). */
export const MAX_CHUNKS = 10_000;
/** Most bytes held to read the header (the preamble included); a file with a longer head runs as one chunk. */
const MAX_HEAD_BYTES = 16 * 1024 * 1024;

/** One byte range of the file: `[start, end)`. */
export interface SplitChunk {
  readonly index: number;
  readonly start: number;
  readonly end: number;
  /** Physical line of the chunk's first character. */
  readonly line: number;
  /** Data records before the chunk. */
  readonly record: number;
}

export interface SplitPlan {
  /** The encoding the file is read in (its BOM's, or the declared one). */
  readonly encoding: Encoding;
  readonly bomLength: number;
  /** The column names every chunk after the first reads its records with. */
  readonly columns: readonly string[];
  readonly chunks: readonly SplitChunk[];
  readonly sizeBytes: number;
  /** Why the file stays one chunk when it is larger than one chunk (a bad header, say: the whole-file run reports it). */
  readonly unsplitReason?: string;
}

/** Where a chunk starts, for `transformFile`; undefined for the first chunk, which starts the file. */
export function chunkStart(plan: SplitPlan, chunk: SplitChunk): ChunkStart | undefined {
  if (chunk.index === 0) return undefined;
  return {
    encoding: plan.encoding,
    textOffset: chunk.start - plan.bomLength,
    line: chunk.line,
    record: chunk.record,
    columns: plan.columns,
  };
}

/**
 * Plans a file into chunks of about `chunkBytes` (at least; the last one up to 1.5 times that), at
 * most `MAX_CHUNKS`. A file whose header cannot be read (malformed, missing columns, too long, bytes
 * invalid before it) is one chunk: the whole-file run then reports it exactly as it always does.
 */
export async function planSplit(
  compiled: CompiledFeed,
  input: AsyncIterable<Uint8Array>,
  sizeBytes: number,
  chunkBytes: number,
): Promise<SplitPlan> {
  const feed = compiled.config;
  const csv = feed.csv;
  const target = Math.max(1, Math.floor(chunkBytes), Math.ceil(sizeBytes / MAX_CHUNKS));
  let scanner: RecordBoundaryScanner | undefined;
  let picked: { encoding: Encoding; bomLength: number } | undefined;
  const head: Buffer[] = [];
  let headBytes = 0;
  let total = 0;
  let pending = Buffer.alloc(0); // the first bytes, until the BOM question is settled

  let unreadable: string | undefined;
  const start = (bytes: Buffer) => {
    try {
      picked = pickEncoding(bytes, csv.encoding);
    } catch (err) {
      // The whole-file run refuses the file for its encoding: it is not split.
      unreadable = (err as Error).message;
      picked = { encoding: csv.encoding, bomLength: 0 };
    }
    scanner = new RecordBoundaryScanner(feed, picked.encoding, picked.bomLength, target, sizeBytes);
    scanner.push(bytes.subarray(picked.bomLength));
  };
  for await (const raw of input) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    total += chunk.length;
    const keepHead = csv.header && (!scanner || scanner.headerEnd < 0) && headBytes < MAX_HEAD_BYTES;
    if (keepHead) {
      head.push(chunk);
      headBytes += chunk.length;
    }
    if (scanner) {
      scanner.push(chunk);
    } else {
      pending = Buffer.concat([pending, chunk]);
      if (pending.length >= SNIFF_BYTES) start(pending);
    }
  }
  if (!scanner) start(pending);
  const { encoding, bomLength } = picked!;
  const boundaries = scanner!.boundaries;
  const one = (reason?: string): SplitPlan => ({
    encoding,
    bomLength,
    columns: [],
    chunks: [{ index: 0, start: 0, end: total, line: 1, record: 0 }],
    sizeBytes: total,
    ...(reason && total > target ? { unsplitReason: reason } : {}),
  });
  if (unreadable) return one(unreadable);
  if (boundaries.length === 0) return one();

  let columns: readonly string[];
  if (csv.header) {
    const headerEnd = scanner!.headerEnd;
    if (headerEnd < 0 || headerEnd > headBytes) return one(`the header is longer than ${MAX_HEAD_BYTES} bytes`);
    const header = await readHeader(compiled, Buffer.concat(head).subarray(0, headerEnd));
    if (typeof header === 'string') return one(header);
    columns = header;
  } else {
    columns = csv.columns ?? [];
  }

  const starts = [{ start: 0, line: 1, record: 0 }, ...boundaries];
  return {
    encoding,
    bomLength,
    columns,
    chunks: starts.map((s, index) => ({ index, start: s.start, end: starts[index + 1]?.start ?? total, line: s.line, record: s.record })),
    sizeBytes: total,
  };
}

/** Reads the header record with the engine's own decoder and tokenizer: the columns, or why the file is not split. */
async function readHeader(feed: CompiledFeed, bytes: Buffer): Promise<readonly string[] | string> {
  const csv = feed.config.csv;
  const tokenizer = tokenizerFor(csv, DEFAULT_ENGINE_LIMITS.maxRecordChars);
  try {
    for await (const text of decodeStream(once(bytes), { encoding: csv.encoding, maxBytes: Number.MAX_SAFE_INTEGER })) tokenizer.push(text);
  } catch (err) {
    return `the head of the file cannot be decoded: ${(err as Error).message}`;
  }
  const [record] = tokenizer.end();
  if (!record) return 'no header record';
  const checked = checkHeader(record, feed.requiredColumns);
  return 'code' in checked ? checked.message : checked.columns;
}

/**
 * The feed as each chunk runs it: `maxRejectedPercent` applies to the whole file, so a chunk never
 * fails for its rejects alone; a chunk that FAILED met a file-level error.
 */
export function chunkFeed(feed: CompiledFeed): CompiledFeed {
  return { ...feed, config: { ...feed.config, errors: { maxRejectedPercent: 100 } } };
}

/**
 * The file's outcome from its chunks' outcomes, in chunk order, as the whole-file run would give
 * it: counts summed up to the first chunk that met a file-level error (the whole-file run stops
 * there), the first `maxErrors` row errors in file order, then `maxRejectedPercent` on the whole
 * file. `chunksUsed` says how many chunks count; the parts of the others are not the file's.
 */
export function combineChunks(
  config: FeedConfig,
  key: string,
  chunks: readonly FileOutcome[],
  options: { readonly durationMs: number; readonly maxErrors?: number },
): { outcome: FileOutcome; chunksUsed: number } {
  const maxErrors = options.maxErrors ?? DEFAULT_ENGINE_LIMITS.maxErrors;
  const errors: (FileError | RowError)[] = [];
  let rowsIn = 0;
  let rowsOut = 0;
  let rowsRejected = 0;
  let bytesIn = 0;
  let fileError: FileError | undefined;
  let chunksUsed = 0;
  for (const chunk of chunks) {
    chunksUsed++;
    rowsIn += chunk.rowsIn;
    rowsOut += chunk.rowsOut;
    rowsRejected += chunk.rowsRejected;
    bytesIn += chunk.bytesIn;
    const failed = chunk.status === 'FAILED';
    for (const error of failed ? chunk.errors.slice(1) : chunk.errors) if (errors.length < maxErrors) errors.push(error);
    if (failed) {
      fileError = chunk.errors[0] as FileError;
      break;
    }
  }
  const counts = { rowsIn, rowsOut, rowsRejected, bytesIn, durationMs: options.durationMs };
  const outcome = settleOutcome(config, key, counts, errors, fileError);
  const mappingFallbacks = mergeFallbacks(chunks.slice(0, chunksUsed).map((c) => c.mappingFallbacks));
  const warnings = chunks[0]?.warnings; // the first chunk reads the header
  return {
    outcome: { ...outcome, ...(mappingFallbacks.length > 0 ? { mappingFallbacks } : {}), ...(warnings ? { warnings } : {}) },
    chunksUsed,
  };
}

const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
const QUOTED_ESCAPE = 3;
const AFTER_QUOTE = 4;
const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
/** A unit that stands for nothing: the trailing bytes of a multi-byte delimiter, quote or escape in UTF-8. */
const SKIP = 0xffff;
/** A special character the encoding cannot write: it never occurs. */
const NEVER = -2;

/**
 * The tokenizer's state machine (csv-tokenizer.ts) reduced to what finds record starts: quote state,
 * line breaks, record starts. It holds no text. It must change state exactly where the tokenizer
 * does; the split property tests check that chunk runs equal whole-file runs.
 */
export class RecordBoundaryScanner {
  /** Where data records start at or after each target: the chunk boundaries. */
  readonly boundaries: { start: number; line: number; record: number }[] = [];
  /** Byte offset of the line break that ends the header record; -1 until it has been read. */
  headerEnd = -1;

  private readonly delim: number;
  private readonly quote: number;
  private readonly escape: number;
  private readonly trim: boolean;
  private readonly headerRecords: number;
  private readonly unitBytes: 1 | 2;
  private readonly littleEndian: boolean;
  /** UTF-8 byte sequences of non-ASCII special characters, and the unit each stands for. */
  private readonly sequences: readonly { bytes: Buffer; unit: number }[];

  private state = FIELD_START;
  private inRecord = false;
  private afterCR = false;
  private line = 1;
  private skipRemaining: number;
  private records = 0;
  private nextTarget: number;
  /** Byte offset of the next unit pushed. */
  private offset: number;
  private carry = Buffer.alloc(0);

  constructor(
    feed: FeedConfig,
    private readonly encoding: Encoding,
    bomLength: number,
    private readonly chunkBytes: number,
    private readonly sizeBytes: number,
  ) {
    const csv = feed.csv;
    this.trim = csv.trim;
    this.skipRemaining = csv.skipLines;
    this.headerRecords = csv.header ? 1 : 0;
    this.unitBytes = encoding === 'utf-16le' || encoding === 'utf-16be' ? 2 : 1;
    this.littleEndian = encoding === 'utf-16le';
    this.offset = bomLength;
    this.nextTarget = chunkBytes;
    const sequences: { bytes: Buffer; unit: number }[] = [];
    const unitOf = (char: string): number => {
      if (char === '') return -1;
      const code = char.charCodeAt(0);
      if (this.unitBytes === 2) return code;
      if (encoding === 'latin1') return code <= 0xff ? code : NEVER;
      if (encoding === 'windows-1252') {
        return windows1252Byte(char) ?? NEVER;
      }
      if (code < 0x80) return code;
      const known = sequences.find((s) => s.bytes.equals(Buffer.from(char, 'utf8')));
      if (known) return known.unit;
      const unit = 0x100 + sequences.length;
      sequences.push({ bytes: Buffer.from(char, 'utf8'), unit });
      return unit;
    };
    this.delim = unitOf(csv.delimiter);
    this.quote = unitOf(csv.quote);
    this.escape = csv.escape ? unitOf(csv.escape) : this.quote;
    this.sequences = sequences;
  }

  push(bytes: Uint8Array): void {
    let data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (this.carry.length) data = Buffer.concat([this.carry, data]);
    const keep = this.unitBytes === 2 ? data.length % 2 : this.sequences.length ? utf8IncompleteTail(data) : 0;
    this.carry = Buffer.from(data.subarray(data.length - keep));
    const body = data.subarray(0, data.length - keep);
    this.scan(this.units(body));
    this.offset += body.length;
  }

  private units(body: Buffer): Uint8Array | Uint16Array {
    if (this.unitBytes === 2) {
      const units = new Uint16Array(body.length / 2);
      for (let i = 0, j = 0; i < units.length; i++, j += 2) {
        units[i] = this.littleEndian ? body[j]! | (body[j + 1]! << 8) : (body[j]! << 8) | body[j + 1]!;
      }
      return units;
    }
    if (this.sequences.length === 0) return body;
    // UTF-8 with a non-ASCII special character: its bytes become one unit followed by SKIPs, so offsets stay byte offsets.
    const units = new Uint16Array(body.length);
    for (let i = 0; i < body.length; i++) {
      const b = body[i]!;
      units[i] = b;
      if (b < 0xc0) continue;
      for (const s of this.sequences) {
        if (s.bytes[0] === b && body.subarray(i, i + s.bytes.length).equals(s.bytes)) {
          units[i] = s.unit;
          for (let k = 1; k < s.bytes.length; k++) units[i + k] = SKIP;
          i += s.bytes.length - 1;
          break;
        }
      }
    }
    return units;
  }

  private scan(buf: Uint8Array | Uint16Array): void {
    const n = buf.length;
    const unitBytes = this.unitBytes;
    const base = this.offset;
    let i = 0;
    let line = this.line;
    let afterCR = this.afterCR;

    while (this.skipRemaining > 0 && i < n) {
      const c = buf[i++]!;
      if (c === CR) {
        line++;
        afterCR = true;
        this.skipRemaining--;
      } else if (c === LF && afterCR) {
        afterCR = false;
      } else if (c === LF) {
        line++;
        this.skipRemaining--;
      } else if (c !== SKIP) {
        afterCR = false;
      }
    }

    const delim = this.delim;
    const quote = this.quote;
    const escape = this.escape;
    const trim = this.trim;
    let state = this.state;
    let inRecord = this.inRecord;
    while (i < n) {
      if (state === UNQUOTED) {
        while (i < n) {
          const d = buf[i]!;
          if (d === delim || d === LF || d === CR) break;
          i++;
        }
        if (i === n) break;
      } else if (state === QUOTED) {
        const from = i;
        while (i < n) {
          const d = buf[i]!;
          if (d === quote || d === escape || d === LF || d === CR) break;
          i++;
        }
        if (i > from) afterCR = false;
        if (i === n) break;
      }
      const c = buf[i]!;
      if (c === SKIP) {
        i++;
        continue;
      }
      if (afterCR && c !== LF) afterCR = false;
      switch (state) {
        case FIELD_START: {
          if (!inRecord) {
            if (c === LF || c === CR) {
              if (c === CR) {
                line++;
                afterCR = true;
              } else {
                if (!afterCR) line++;
                afterCR = false;
              }
              i++;
              continue;
            }
            inRecord = true;
            if (this.records >= this.headerRecords) this.recordStart(base + i * unitBytes, line);
            this.records++;
          }
          if (c === quote) {
            state = QUOTED;
          } else if (c === delim) {
            // next field
          } else if (c === LF || c === CR) {
            this.recordEnd(base + i * unitBytes);
            inRecord = false;
            if (c === CR) {
              line++;
              afterCR = true;
            } else {
              if (!afterCR) line++;
              afterCR = false;
            }
          } else if (trim && (c === SPACE || c === TAB)) {
            // leading blanks
          } else {
            state = UNQUOTED;
          }
          i++;
          continue;
        }
        case UNQUOTED: {
          if (c === delim) {
            state = FIELD_START;
          } else if (c === LF || c === CR) {
            this.recordEnd(base + i * unitBytes);
            inRecord = false;
            state = FIELD_START;
            if (c === CR) {
              line++;
              afterCR = true;
            } else {
              if (!afterCR) line++;
              afterCR = false;
            }
          }
          i++;
          continue;
        }
        case QUOTED: {
          if (c === escape || c === quote) {
            state = c === escape ? QUOTED_ESCAPE : AFTER_QUOTE;
          } else if (c === LF || c === CR) {
            if (c === CR) {
              line++;
              afterCR = true;
            } else {
              if (!afterCR) line++;
              afterCR = false;
            }
          }
          i++;
          continue;
        }
        case QUOTED_ESCAPE: {
          if (c === quote || (c === escape && escape !== quote)) {
            state = QUOTED;
            i++;
            continue;
          }
          state = escape === quote ? AFTER_QUOTE : QUOTED;
          continue; // re-read c
        }
        case AFTER_QUOTE: {
          if (c === delim) {
            state = FIELD_START;
          } else if (c === LF || c === CR) {
            this.recordEnd(base + i * unitBytes);
            inRecord = false;
            state = FIELD_START;
            if (c === CR) {
              line++;
              afterCR = true;
            } else {
              if (!afterCR) line++;
              afterCR = false;
            }
          } else if (trim && (c === SPACE || c === TAB)) {
            // trailing blanks
          } else {
            state = UNQUOTED;
            continue; // re-read c
          }
          i++;
          continue;
        }
      }
    }
    this.state = state;
    this.inRecord = inRecord;
    this.line = line;
    this.afterCR = afterCR;
  }

  private recordStart(at: number, line: number): void {
    if (at < this.nextTarget || this.boundaries.length >= MAX_CHUNKS - 1) return;
    // The last chunk takes the rest when the rest is small: no chunk is under half the target.
    if (this.sizeBytes - at < this.chunkBytes / 2) {
      this.nextTarget = Number.POSITIVE_INFINITY;
      return;
    }
    this.boundaries.push({ start: at, line, record: this.records - this.headerRecords });
    this.nextTarget = at + this.chunkBytes;
  }

  private recordEnd(at: number): void {
    if (this.headerEnd < 0 && this.headerRecords === 1) this.headerEnd = at;
  }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** How many bytes at the end of UTF-8 `data` start a character the next piece completes. */
function utf8IncompleteTail(data: Uint8Array): number {
  const n = data.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = data[n - back]!;
    if ((b & 0xc0) === 0x80) continue;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}
