import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import type { Encoding, FeedConfig } from '../../../../lambdas/transformer/model.js';
import { chunkFeed, chunkStart, combineChunks, planSplit, type SplitPlan } from '../../../../lambdas/transformer/engine/split.js';
import { compileFeed, transformFile, type CompiledFeed } from '../../../../lambdas/transformer/engine/transform.js';
import type { FileOutcome } from '../../../../lambdas/transformer/engine/outcome.js';
import { findGoldenCases } from '../../../../platform/config/golden.js';
import { requireValidConfig } from '../../../../platform/config/load-config.js';
import { makeFeed } from '../../../support/engine.js';

const KEY = 'test/feed/file.csv';

function pieces(bytes: Uint8Array, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(Buffer.from(bytes.subarray(i, i + size)));
  return out;
}

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

interface Run {
  readonly outcome: FileOutcome;
  /** Output documents: one for a whole run, one per counted chunk for a split run. */
  readonly outputs: string[];
  readonly rejects: string;
}

async function runOne(feed: CompiledFeed, bytes: Uint8Array, readSize: number, start?: ReturnType<typeof chunkStart>) {
  const output = collect();
  const rejects = collect();
  const outcome = await transformFile(feed, {
    key: KEY,
    input: Readable.from(pieces(bytes, readSize)),
    output: output.stream,
    rejects: rejects.stream,
    sizeBytes: bytes.length,
    ...(start ? { start } : {}),
  });
  return { outcome, output: output.text(), rejects: rejects.text() };
}

async function runWhole(feed: CompiledFeed, bytes: Uint8Array, readSize: number): Promise<Run> {
  const run = await runOne(feed, bytes, readSize);
  return { outcome: run.outcome, outputs: [run.output], rejects: run.rejects };
}

async function runSplit(feed: CompiledFeed, bytes: Uint8Array, chunkBytes: number, readSize: number): Promise<Run & { plan: SplitPlan }> {
  const plan = await planSplit(feed, Readable.from(pieces(bytes, readSize)), bytes.length, chunkBytes);
  const runs = [];
  for (const chunk of plan.chunks) {
    runs.push(await runOne(chunkFeed(feed), bytes.subarray(chunk.start, chunk.end), readSize, chunkStart(plan, chunk)));
  }
  const { outcome, chunksUsed } = combineChunks(
    feed.config,
    KEY,
    runs.map((r) => r.outcome),
    { durationMs: 0 },
  );
  const used = runs.slice(0, chunksUsed);
  return { plan, outcome, outputs: used.map((r) => r.output), rejects: used.map((r) => r.rejects).join('') };
}

function records(feed: FeedConfig, outputs: string[]): unknown[] {
  return outputs.flatMap((text) =>
    feed.output.format === 'json'
      ? (JSON.parse(text) as unknown[])
      : text
          .split('\n')
          .filter((l) => l)
          .map((l) => JSON.parse(l) as unknown),
  );
}

/** Split equals whole: status, counts, errors with their lines and records, every output record and reject in order. */
async function expectSplitEqualsWhole(feed: FeedConfig, bytes: Uint8Array, chunkBytes: number, readSize: number): Promise<SplitPlan> {
  const compiled = compileFeed(feed);
  const whole = await runWhole(compiled, bytes, readSize);
  const split = await runSplit(compiled, bytes, chunkBytes, readSize);
  const summary = (o: FileOutcome) => ({
    status: o.status,
    rowsIn: o.rowsIn,
    rowsOut: o.rowsOut,
    rowsRejected: o.rowsRejected,
    errors: o.errors,
    mappingFallbacks: o.mappingFallbacks,
  });
  expect(summary(split.outcome)).toEqual(summary(whole.outcome));
  expect(split.rejects).toBe(whole.rejects);
  if (whole.outcome.status !== 'FAILED') {
    expect(records(feed, split.outputs)).toEqual(records(feed, whole.outputs));
    if (feed.output.format === 'ndjson') expect(split.outputs.join('')).toBe(whole.outputs[0]);
  }
  return split.plan;
}

// ---- generated files ----------------------------------------------------------------------------

interface Dialect {
  readonly delimiter: string;
  readonly quote: string;
  readonly escape: string;
  readonly eol: string;
  readonly trim: boolean;
}

const DIALECTS: readonly Dialect[] = [
  { delimiter: ',', quote: '"', escape: '"', eol: '\r\n', trim: false },
  { delimiter: ';', quote: '"', escape: '"', eol: '\n', trim: true },
  { delimiter: '|', quote: "'", escape: "'", eol: '\r', trim: false },
  { delimiter: '\t', quote: '"', escape: '\\', eol: '\n', trim: false },
  { delimiter: ',', quote: '', escape: '', eol: '\n', trim: false },
  { delimiter: '§', quote: '«', escape: '«', eol: '\r\n', trim: true },
  { delimiter: '€', quote: '"', escape: '"', eol: '\n', trim: false },
];
const ENCODINGS: readonly Encoding[] = ['utf-8', 'utf-16le', 'utf-16be', 'latin1', 'windows-1252'];
const BOMS: Record<string, number[]> = { 'utf-8': [0xef, 0xbb, 0xbf], 'utf-16le': [0xff, 0xfe], 'utf-16be': [0xfe, 0xff] };
/** Bytes each encoding refuses: the decoder must fail at the same byte and line split or whole. */
const INVALID: Record<Encoding, number[]> = {
  'utf-8': [0xc3, 0x28],
  'utf-16le': [0x00, 0xdc],
  'utf-16be': [0xdc, 0x00],
  latin1: [], // every byte is a character
  'windows-1252': [0x81],
};

function encode(text: string, encoding: Encoding): Buffer {
  if (encoding === 'utf-16be') return Buffer.from(text, 'utf16le').swap16();
  return encoding === 'utf-8' || encoding === 'utf-16le'
    ? Buffer.from(text, encoding === 'utf-8' ? 'utf8' : 'utf16le')
    : iconv.encode(text, encoding);
}

function writeCell(value: string, d: Dialect, forceQuote: boolean): string {
  if (!d.quote) return value;
  const special = [d.delimiter, d.quote, d.escape, '\n', '\r'].some((c) => value.includes(c)) || /^[ \t]|[ \t]$/.test(value);
  if (!special && !forceQuote) return value;
  const escaped = d.escape === d.quote ? value.split(d.quote).join(d.quote + d.quote) : value.replace(/[\\"]/g, (c) => `\\${c}`);
  return d.quote + escaped + d.quote;
}

const cellText = fc.string({
  unit: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom('a', 'b', 'Z', '1', '2', ' ', 'é', 'ü') },
    { weight: 3, arbitrary: fc.constantFrom(',', ';', '|', '\t', '"', "'", '\\', '\n', '\r', '\r\n', '§', '«', '€', '😀') },
  ),
  maxLength: 10,
});

/** A file: header or not, a preamble, rows with quoted line breaks, blank lines, optional garbage and invalid bytes. */
const fileCase = fc.record({
  dialect: fc.constantFrom(...DIALECTS),
  encoding: fc.constantFrom(...ENCODINGS),
  bom: fc.boolean(),
  header: fc.boolean(),
  skipLines: fc.integer({ min: 0, max: 2 }),
  width: fc.integer({ min: 1, max: 4 }),
  rows: fc.array(fc.tuple(fc.array(cellText, { minLength: 0, maxLength: 5 }), fc.boolean(), fc.boolean()), { maxLength: 25 }),
  /** Raw text spliced into the file somewhere: stray quotes, unclosed quotes, extra delimiters. */
  garbage: fc.option(fc.tuple(fc.nat(), fc.string({ unit: fc.constantFrom('"', "'", '«', ',', '\n', '\r', 'x', '\\'), maxLength: 4 }))),
  invalidAt: fc.option(fc.nat()),
  format: fc.constantFrom('ndjson' as const, 'json' as const),
  maxRejectedPercent: fc.constantFrom(0, 30, 100),
  chunkBytes: fc.integer({ min: 1, max: 80 }),
  readSize: fc.integer({ min: 1, max: 97 }),
  finalEol: fc.boolean(),
});

function buildCase(c: FileCaseValue): { feed: FeedConfig; bytes: Buffer } {
  const d = c.dialect;
  const columns = Array.from({ length: c.width }, (_, i) => `c${i}`);
  const lines: string[] = [];
  for (let i = 0; i < c.skipLines; i++) lines.push(`preamble ${i} "unbalanced${d.delimiter}`);
  if (c.header) lines.push(columns.map((name) => writeCell(name, d, false)).join(d.delimiter));
  for (const [cells, quoteAll, blankAfter] of c.rows) {
    lines.push(cells.map((v) => writeCell(v, d, quoteAll)).join(d.delimiter));
    if (blankAfter) lines.push('');
  }
  let text = lines.join(d.eol) + (c.finalEol ? d.eol : '');
  if (c.garbage) {
    const at = c.garbage[0] % (text.length + 1);
    text = text.slice(0, at) + c.garbage[1] + text.slice(at);
  }
  let bytes = encode(text, c.encoding);
  const bom = BOMS[c.encoding];
  if (c.bom && bom) bytes = Buffer.concat([Buffer.from(bom), bytes]);
  const invalid = INVALID[c.encoding];
  if (c.invalidAt !== null && invalid.length > 0) {
    const unit = c.encoding.startsWith('utf-16') ? 2 : 1;
    const at = Math.floor((c.invalidAt % (bytes.length + 1)) / unit) * unit;
    bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(invalid), bytes.subarray(at)]);
  }
  const feed = makeFeed({
    csv: {
      delimiter: d.delimiter,
      quote: d.quote,
      escape: d.escape,
      trim: d.trim,
      encoding: c.encoding,
      header: c.header,
      skipLines: c.skipLines,
      columns,
    },
    mapping: {
      kind: 'fields',
      fields: [
        { name: 'line', path: ['line'], expression: '$source.line' },
        { name: 'record', path: ['record'], expression: '$source.record' },
        { name: 'first', path: ['first'], expression: 'c0' },
        { name: 'last', path: ['last'], expression: `c${c.width - 1}` },
      ],
    },
    // Values longer than 6 characters are schema violations: rejects all through the file.
    schema: { type: 'object', properties: { first: { type: 'string', maxLength: 6 } } },
    output: { dataset: 'test', format: c.format },
    errors: { maxRejectedPercent: c.maxRejectedPercent },
  });
  return { feed, bytes };
}

type FileCaseValue = {
  dialect: Dialect;
  encoding: Encoding;
  bom: boolean;
  header: boolean;
  skipLines: number;
  width: number;
  rows: [string[], boolean, boolean][];
  garbage: [number, string] | null;
  invalidAt: number | null;
  format: 'ndjson' | 'json';
  maxRejectedPercent: number;
  chunkBytes: number;
  readSize: number;
  finalEol: boolean;
};

describe('split equals whole (property)', () => {
  it('on random tables in every dialect and encoding, with quoted line breaks, CRLF, blank lines, preambles, garbage and invalid bytes, in chunks down to one byte', async () => {
    let split = 0;
    await fc.assert(
      fc.asyncProperty(fileCase, async (c) => {
        const { feed, bytes } = buildCase(c as FileCaseValue);
        const plan = await expectSplitEqualsWhole(feed, bytes, c.chunkBytes, c.readSize);
        if (plan.chunks.length > 1) split++;
      }),
      { numRuns: Number(process.env.SPLIT_RUNS ?? 400) },
    );
    // The property is about split files: most generated files must actually be split.
    expect(split).toBeGreaterThan(200);
  });

  for (const encoding of ENCODINGS) {
    it(`plans ${encoding} files into many chunks, each starting a record (one-byte chunks)`, async () => {
      await fc.assert(
        fc.asyncProperty(fileCase, async (c) => {
          const { feed, bytes } = buildCase({ ...(c as FileCaseValue), encoding, garbage: null, invalidAt: null, chunkBytes: 1 });
          const plan = await expectSplitEqualsWhole(feed, bytes, 1, c.readSize);
          const unit = encoding.startsWith('utf-16') ? 2 : 1;
          for (const chunk of plan.chunks.slice(1)) expect((chunk.start - plan.bomLength) % unit).toBe(0);
        }),
        { numRuns: 60 },
      );
    });
  }
});

describe('quote state across boundaries', () => {
  const feed = makeFeed({ csv: { columns: ['id', 'note'] }, errors: { maxRejectedPercent: 0 } });

  it('never cuts a quoted field whose line breaks a naive newline split would cut at', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => `${i},"line one\nline two, with ""quotes""\r\nline three"`);
    const bytes = Buffer.from(`id,note\n${rows.join('\n')}\n`);
    // A naive split at the first newline after each target lands inside the quoted note.
    const naiveCut = bytes.indexOf('\n', 40) + 1;
    expect(bytes.subarray(naiveCut, naiveCut + 9).toString()).toMatch(/^line (two|thr)/);
    for (const chunkBytes of [1, 7, 40, 100, 333]) {
      const plan = await expectSplitEqualsWhole(feed, bytes, chunkBytes, 64);
      expect(plan.chunks.length).toBeGreaterThan(1);
      for (const chunk of plan.chunks.slice(1)) expect(bytes.subarray(chunk.start, chunk.start + 8).toString()).toMatch(/^\d+,"line/);
    }
  });

  it('gives each chunk the line and record numbers of its first record, preamble and blank lines included', async () => {
    const preambled = makeFeed({ csv: { skipLines: 2, columns: ['a', 'b'] } });
    const bytes = Buffer.from('title\r\n"unbalanced\r\na,b\r\n1,"x\r\ny"\r\n\r\n2,z\r\n3,w\r\n');
    const plan = await planSplit(compileFeed(preambled), Readable.from([bytes]), bytes.length, 1);
    expect(plan.chunks.map((c) => [c.line, c.record])).toEqual([
      [1, 0],
      [4, 0],
      [7, 1],
      [8, 2],
    ]);
    expect(plan.columns).toEqual(['a', 'b']);
    await expectSplitEqualsWhole(preambled, bytes, 1, 3);
  });

  it('leaves a file with a bad header whole, so the whole-file run reports it', async () => {
    const bytes = Buffer.from('id,id\n1,2\n3,4\n5,6\n');
    const plan = await planSplit(compileFeed(feed), Readable.from([bytes]), bytes.length, 4);
    expect(plan.chunks).toHaveLength(1);
    expect(plan.unsplitReason).toMatch(/names column "id" twice/);
  });

  it('does not take a record that starts with U+FEFF for a byte-order mark', async () => {
    const bytes = Buffer.from('id,note\n1,a\n\ufeff2,b\n3,c\n');
    const plan = await expectSplitEqualsWhole(makeFeed(), bytes, 10, 5);
    expect(plan.chunks.length).toBeGreaterThan(1);
  });

  it('never plans more than MAX_CHUNKS chunks, and none under half the target but the only one', async () => {
    const bytes = Buffer.from(`a\n${'1\n'.repeat(30_000)}`);
    const plan = await planSplit(compileFeed(makeFeed()), Readable.from([bytes]), bytes.length, 1);
    // 60,002 bytes in at most 10,000 chunks: the target grows to 7 bytes, four records of "1\n" a chunk
    expect(plan.chunks).toHaveLength(7_500);
    const sized = await planSplit(compileFeed(makeFeed()), Readable.from([bytes]), bytes.length, 1000);
    for (const c of sized.chunks) expect(c.end - c.start).toBeGreaterThanOrEqual(500);
    expect(sized.chunks.at(-1)!.end).toBe(bytes.length);
  });
});

describe('every sample feed, split in random chunk sizes', () => {
  const REPO = join(import.meta.dirname, '../../../..');
  const config = requireValidConfig(REPO);
  for (const c of findGoldenCases(REPO, config)) {
    it(c.csv, async () => {
      const bytes = readFileSync(join(REPO, c.csv));
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 300 }), async (chunkBytes, readSize) => {
          await expectSplitEqualsWhole(c.feed, bytes, chunkBytes, readSize);
        }),
        { numRuns: 25 },
      );
    });
  }
});
