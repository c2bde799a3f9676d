import type { Writable } from 'node:stream';
import type { Encoding, FeedConfig } from '../model.js';
import { closestColumn } from './column-names.js';
import { findMappingColumnReads } from './column-reads.js';
import { CsvTokenizer, type CsvRecord } from './csv-tokenizer.js';
import { decodeStream } from './decode.js';
import { fieldValues, maskFields, maskingOf, maskText } from './mask.js';
import { describeHeaderDrift, detectHeaderDrift, type FileWarning } from './header-drift.js';
import { compileMapping, FallbackCounter, MappingError, type CompiledMapping, type MappingOptions, type Row } from './mapping.js';
import { FileLevelError, type FileError, type FileOutcome, type RowError, type RowErrorCode, type RowReject } from './outcome.js';
import { RecordWriter } from './record-writer.js';
import type { FileDialect, RejectCsvWriter } from './reject-report.js';
import { compileValidator, createSchemaAjv, type RecordValidator } from './schema.js';

/** A feed ready to run: mapping and schema compiled once, reused for every file. */
export interface CompiledFeed {
  readonly config: FeedConfig;
  readonly mapping: CompiledMapping;
  readonly validate: RecordValidator;
  /** Columns a header must have: the declared `columns` and every column the mapping reads, less `optionalColumns`. */
  readonly requiredColumns: readonly RequiredColumn[];
  /** Every column the mapping reads (found statically), optional ones included. */
  readonly readColumns: readonly string[];
}

/** A column every file's header must have, and why. */
export interface RequiredColumn {
  readonly name: string;
  /** Listed in `csv.columns`. */
  readonly declared: boolean;
  /** Read by the mapping (found statically). */
  readonly read: boolean;
}

/** Compiles a feed's mapping and schema. Throws on a feed the config loader would have refused. */
export function compileFeed(config: FeedConfig, options?: MappingOptions): CompiledFeed {
  return {
    config,
    mapping: compileMapping(config.mapping, options),
    validate: compileValidator(config.schema, createSchemaAjv(undefined, { validateSchema: false })),
    ...columnsOf(config),
  };
}

function columnsOf(config: FeedConfig): { requiredColumns: RequiredColumn[]; readColumns: string[] } {
  const declared = config.csv.columns ?? [];
  const optional = new Set(config.csv.optionalColumns ?? []);
  const readColumns = findMappingColumnReads(config.mapping).columns;
  const read = readColumns.filter((c) => !optional.has(c));
  const readSet = new Set(read);
  const requiredColumns = [
    ...declared.map((name) => ({ name, declared: true, read: readSet.has(name) })),
    ...read.filter((name) => !declared.includes(name)).map((name) => ({ name, declared: false, read: true })),
  ];
  return { requiredColumns, readColumns };
}

/** Engine bounds that are not part of a feed's config. */
export interface EngineLimits {
  /** Longest CSV record, in characters. */
  readonly maxRecordChars: number;
  /** Longest output record, in characters of JSON. */
  readonly maxOutputChars: number;
  /** How many errors the outcome lists (the rejects stream has all of them). */
  readonly maxErrors: number;
}

export const DEFAULT_ENGINE_LIMITS: EngineLimits = {
  maxRecordChars: 1024 * 1024,
  maxOutputChars: 1024 * 1024,
  maxErrors: 100,
};

/** Progress of a running file, for a progress bar or a log line. */
export interface Progress {
  readonly bytes: number;
  readonly rows: number;
}

export interface TransformRequest {
  /** The object key (or local path) of the file: bound as `$source.key`, named in errors. */
  readonly key: string;
  readonly input: AsyncIterable<Uint8Array>;
  /** Valid records go here (NDJSON or a JSON array). The caller publishes or discards them by the status. */
  readonly output: Writable;
  /** Rejected rows go here, one JSON object per line. */
  readonly rejects: Writable;
  /** The file size when known up front: an empty or oversized file is refused without reading it. */
  readonly sizeBytes?: number;
  readonly limits?: Partial<EngineLimits>;
  readonly onProgress?: (progress: Progress) => void;
  /** Set when `input` is a chunk of a split file that does not start the file (see split.ts). */
  readonly start?: ChunkStart;
  /** The partner's reject report: gets every rejected row, written back in the file's own dialect and encoding. */
  readonly rejectReport?: RejectCsvWriter;
}

/**
 * Where a chunk of a split file starts: on a record boundary after the header, with what a whole-file
 * run would know there. Records, line numbers and errors then come out as in the whole-file run.
 */
export interface ChunkStart {
  /** The encoding the file's start settled (its BOM's, or the declared one). */
  readonly encoding: Encoding;
  /** Bytes of the file before the chunk, less the BOM (as the decoder counts offsets). */
  readonly textOffset: number;
  /** Physical line of the chunk's first record. */
  readonly line: number;
  /** Data records before the chunk. */
  readonly record: number;
  /** The header's column names (or the declared ones for a headerless feed). */
  readonly columns: readonly string[];
}

/**
 * Streams one file through decode -> parse -> map -> validate -> write and returns its outcome.
 * Records go out in file order; memory holds one chunk and one record at a time whatever the size
 * of the file, and a slow output slows the reading. Data errors never throw: they are in the outcome.
 * The streams are not ended here; the caller ends or destroys them.
 */
export async function transformFile(feed: CompiledFeed, request: TransformRequest): Promise<FileOutcome> {
  const started = performance.now();
  const limits = { ...DEFAULT_ENGINE_LIMITS, ...request.limits };
  const config = feed.config;
  const start = request.start;
  const maxBytes = config.maxFileMiB * 1024 * 1024;
  const output = new RecordWriter(request.output, config.output.format);
  const rejects = new RecordWriter(request.rejects, 'ndjson');
  const errors: (FileError | RowError)[] = [];
  // Personal data (`pii`): masked in the rejects, and in the output with `output.mask`.
  const masking = maskingOf(config);
  let piiColumns: number[] = [];
  const warnings: FileWarning[] = [];
  let rowsIn = 0;
  let rowsOut = 0;
  let rowsRejected = 0;
  let bytesIn = 0;
  const fallbacks = new FallbackCounter();

  const finish = (fileError?: FileError): FileOutcome => {
    const outcome = settleOutcome(
      config,
      request.key,
      { rowsIn, rowsOut, rowsRejected, bytesIn, durationMs: Math.round(performance.now() - started) },
      errors,
      fileError,
    );
    const mappingFallbacks = fallbacks.report();
    return {
      ...outcome,
      ...(mappingFallbacks.length > 0 ? { mappingFallbacks } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
    };
  };

  if (request.sizeBytes !== undefined && request.sizeBytes > maxBytes) {
    return finish({
      code: 'TOO_LARGE',
      message: `file is ${request.sizeBytes} bytes, over the feed's limit of ${config.maxFileMiB} MiB`,
    });
  }

  /**
   * Rejects a row: the rejects object gets the row (`raw`) and `detail`, the message that may quote
   * values; the outcome (and so the ledger, manifest, events and logs) gets `message`, which does not.
   */
  const reject = (
    record: CsvRecord,
    recordNo: number,
    code: RowErrorCode,
    message: string,
    field?: string,
    detail?: string,
    result?: Record<string, unknown>,
  ): Promise<undefined> | undefined => {
    rowsRejected++;
    const where = field === undefined ? {} : { field };
    let raw = record.raw;
    let quoted = detail ?? message;
    if (masking) {
      const values: unknown[] = piiColumns.map((i) => record.fields[i]);
      if (result) values.push(...fieldValues(masking, result));
      raw = maskText(raw, values);
      quoted = maskText(quoted, values);
    }
    const entry: RowReject = { line: record.line, record: recordNo, code, message: quoted, ...where, raw };
    if (errors.length < limits.maxErrors) errors.push({ line: record.line, record: recordNo, code, ...where, message });
    const reported = request.rejectReport?.add(entry, dialect);
    const written = rejects.write(JSON.stringify(entry));
    if (reported) return reported.then(() => settled(written));
    return settled(written);
  };

  const tokenizer = new CsvTokenizer({
    delimiter: config.csv.delimiter,
    quote: config.csv.quote,
    escape: config.csv.escape,
    trim: config.csv.trim,
    skipLines: start ? 0 : config.csv.skipLines,
    maxRecordChars: limits.maxRecordChars,
    firstLine: start?.line ?? 1,
  });
  const nullValues = new Set(config.csv.nullValues);
  let columns: readonly string[] | undefined = start?.columns ?? (config.csv.header ? undefined : config.csv.columns);
  let recordNo = start?.record ?? 0;
  const source = { partner: config.partner, feed: config.id, key: request.key } as const;

  const onMappingError = (record: CsvRecord, recordNo: number, err: unknown) => {
    if (!(err instanceof MappingError)) throw err;
    return reject(record, recordNo, 'MAPPING_ERROR', err.message, err.field, err.detail);
  };

  const finishRow = (record: CsvRecord, recordNo: number, result: Record<string, unknown>): Promise<undefined> | undefined => {
    const violation = feed.validate(result);
    if (violation) return reject(record, recordNo, 'SCHEMA_VIOLATION', violation.message, violation.field, violation.detail, result);
    if (masking?.output) maskFields(masking, result);
    const json = JSON.stringify(result);
    if (json.length > limits.maxOutputChars) {
      return reject(record, recordNo, 'MAPPING_ERROR', `the output record is longer than ${limits.maxOutputChars} characters`);
    }
    rowsOut++;
    return settled(output.write(json));
  };

  const piiColumnsOf = (cols: readonly string[]) => cols.flatMap((c, i) => (masking!.columns.has(c) ? [i] : []));
  if (masking && columns) piiColumns = piiColumnsOf(columns);
  let protoColumn = columns ? columns.indexOf('__proto__') : -1; // a `__proto__` header is defined on the row, never assigned
  const nullIsEmpty = nullValues.size === 1 && nullValues.has('');
  // What the reject report writes back in the partner's own form.
  let headerRaw: string | undefined;
  let settledEncoding: { encoding: Encoding; bom: boolean } | undefined;
  let lineBreak: string | undefined;
  const dialect = (): FileDialect => ({
    encoding: settledEncoding?.encoding ?? start?.encoding ?? config.csv.encoding,
    bom: settledEncoding?.bom ?? false,
    lineBreak: lineBreak ?? '\n',
    ...(headerRaw === undefined ? {} : { header: headerRaw }),
  });

  /** One record, synchronously unless the interpreter or a waiting sink is involved. */
  const processRecord = (record: CsvRecord): FileError | undefined | Promise<FileError | undefined> => {
    if (columns === undefined) {
      const header = checkHeader(record, feed.requiredColumns);
      const drift = headerDriftWarning(feed, record);
      if (drift) warnings.push(drift);
      if ('code' in header) return header;
      columns = header.columns;
      headerRaw = record.raw;
      protoColumn = columns.indexOf('__proto__');
      if (masking) piiColumns = piiColumnsOf(columns);
      return undefined;
    }
    recordNo++;
    rowsIn++;
    if (record.error) return reject(record, recordNo, 'CSV_MALFORMED', record.error);
    const cols = columns;
    const fields = record.fields;
    if (fields.length !== cols.length) {
      return reject(record, recordNo, 'CSV_MALFORMED', `expected ${cols.length} fields, got ${fields.length}`);
    }
    const row: Row = {};
    for (let i = 0; i < cols.length; i++) {
      const value = fields[i]!;
      if (nullIsEmpty ? value === '' : nullValues.has(value)) continue;
      if (i === protoColumn) Object.defineProperty(row, '__proto__', { value, enumerable: true, writable: true, configurable: true });
      else row[cols[i]!] = value;
    }
    const number = recordNo;
    let mapped: Record<string, unknown> | Promise<Record<string, unknown>>;
    try {
      mapped = feed.mapping.map(
        row,
        { partner: source.partner, feed: source.feed, key: source.key, line: record.line, record: number },
        fallbacks,
      );
    } catch (err) {
      return onMappingError(record, number, err);
    }
    if (mapped instanceof Promise) {
      return mapped.then(
        (result) => finishRow(record, number, result),
        (err: unknown) => onMappingError(record, number, err),
      );
    }
    return finishRow(record, number, mapped);
  };

  const run = async (): Promise<FileError | undefined> => {
    try {
      const text = decodeStream(request.input, {
        encoding: start?.encoding ?? config.csv.encoding,
        maxBytes,
        onBytes: (bytes) => {
          bytesIn = bytes;
        },
        ...(start ? { start: { textOffset: start.textOffset, line: start.line } } : {}),
        onEncoding: (encoding, bom) => {
          settledEncoding = { encoding, bom };
        },
      });
      let lastReport = 0;
      for await (const chunk of text) {
        if (lineBreak === undefined) lineBreak = firstLineBreak(chunk);
        for (const record of tokenizer.push(chunk)) {
          let fileError = processRecord(record);
          if (fileError instanceof Promise) fileError = await fileError;
          if (fileError) return fileError;
        }
        if (request.onProgress && bytesIn - lastReport >= 1 << 20) {
          lastReport = bytesIn;
          request.onProgress({ bytes: bytesIn, rows: rowsIn });
        }
      }
      for (const record of tokenizer.end()) {
        let fileError = processRecord(record);
        if (fileError instanceof Promise) fileError = await fileError;
        if (fileError) return fileError;
      }
    } catch (err) {
      if (err instanceof FileLevelError) return err.toFileError();
      throw err;
    }
    if (bytesIn === 0) return { code: 'EMPTY_FILE', message: 'the file is empty (0 bytes)' };
    if (columns === undefined) {
      return { code: 'EMPTY_FILE', message: 'the file has no header record (only a byte-order mark or blank lines)' };
    }
    return undefined;
  };

  const fileError = await run();
  request.onProgress?.({ bytes: bytesIn, rows: rowsIn });

  await rejects.finish();
  if (!fileError) await output.finish();
  return finish(fileError);
}

/** The chunk's first line break; undefined when it has none or ends with a CR that may start a CRLF. */
function firstLineBreak(chunk: string): string | undefined {
  const at = chunk.search(/[\r\n]/);
  if (at === -1 || (chunk[at] === '\r' && at === chunk.length - 1)) return undefined;
  return chunk[at] === '\r' && chunk[at + 1] === '\n' ? '\r\n' : chunk[at];
}

/** What a file's rows add up to, before its status is settled. */
export interface FileCounts {
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly rowsRejected: number;
  readonly bytesIn: number;
  readonly durationMs: number;
}

/**
 * A file's status from its counts: FAILED on a file-level error or over `maxRejectedPercent`, else
 * PARTIAL or SUCCEEDED. `errors` (the first row rejects, in file order) gets the file-level errors in front.
 */
export function settleOutcome(
  config: FeedConfig,
  key: string,
  counts: FileCounts,
  errors: (FileError | RowError)[],
  fileError?: FileError,
): FileOutcome {
  const { rowsIn, rowsRejected } = counts;
  if (fileError) errors.unshift(fileError);
  let status: FileOutcome['status'] = fileError ? 'FAILED' : rowsRejected > 0 ? 'PARTIAL' : 'SUCCEEDED';
  if (status === 'PARTIAL' && (rowsRejected / rowsIn) * 100 > config.errors.maxRejectedPercent) {
    status = 'FAILED';
    const percent = Math.round((rowsRejected / rowsIn) * 1000) / 10;
    errors.unshift({
      code: 'TOO_MANY_REJECTS',
      message: `${rowsRejected} of ${rowsIn} rows rejected (${percent}%), over the feed's maxRejectedPercent of ${config.errors.maxRejectedPercent}`,
    });
  }
  const { rowsOut, bytesIn, durationMs } = counts;
  return { status, partner: config.partner, feed: config.id, key, rowsIn, rowsOut, rowsRejected, errors, bytesIn, durationMs };
}

/** A pending write as a promise of nothing, or nothing when the sink took it at once. */
function settled(wait: Promise<void> | undefined): Promise<undefined> | undefined {
  return wait ? wait.then(() => undefined) : undefined;
}

/** A HEADER_DRIFT warning when a readable header differs from the configuration. */
export function headerDriftWarning(feed: CompiledFeed, record: CsvRecord): FileWarning | undefined {
  if (record.error) return undefined;
  const drift = detectHeaderDrift(record.fields, feed.config.csv, feed.readColumns);
  if (!drift) return undefined;
  return { code: 'HEADER_DRIFT', message: describeHeaderDrift(drift, feed.config.csv.columns !== undefined), line: record.line, drift };
}

/** Reads the header record: names must be unique, and the declared columns and those the mapping reads must all be there. */
export function checkHeader(record: CsvRecord, required: readonly RequiredColumn[]): { columns: readonly string[] } | FileError {
  if (record.error) {
    return { code: 'CSV_MALFORMED', message: `the header record is malformed: ${record.error}`, line: record.line };
  }
  const names = record.fields;
  const seen = new Map<string, number>();
  for (let i = 0; i < names.length; i++) {
    const first = seen.get(names[i]!);
    if (first !== undefined) {
      return {
        code: 'CSV_MALFORMED',
        message: `the header names column ${JSON.stringify(names[i])} twice (columns ${first + 1} and ${i + 1}); rows could not be read unambiguously`,
        line: record.line,
      };
    }
    seen.set(names[i]!, i);
  }
  const missing = required.filter((c) => !seen.has(c.name));
  if (missing.length > 0) {
    const described = missing.map((c) => {
      const why = c.declared ? (c.read ? 'declared in columns, read by the mapping' : 'declared in columns') : 'read by the mapping';
      const closest = closestColumn(c.name, names);
      return `${JSON.stringify(c.name)} (${why}; ${closest ? `closest header name: ${JSON.stringify(closest.name)}` : 'no header name is close'})`;
    });
    const hint = missing.some((c) => !c.declared) ? '; a column files may lack goes in csv.optionalColumns' : '';
    return {
      code: 'MISSING_COLUMNS',
      message: `the header lacks column${missing.length > 1 ? 's' : ''} ${described.join(', ')}${hint} (header: ${JSON.stringify(truncate(record.raw, 500))})`,
      line: record.line,
    };
  }
  return { columns: names };
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
