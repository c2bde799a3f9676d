import {
  createReadStream,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { PassThrough } from 'node:stream';
import type { FeedConfig, PlatformConfig } from '../../lambdas/transformer/model.js';
import { listFeeds } from '../../lambdas/transformer/model.js';
import type { FileOutcome } from '../../lambdas/transformer/engine/outcome.js';
import { compileFeed, transformFile } from '../../lambdas/transformer/engine/transform.js';
import { recordDifferences } from './golden-diff.js';
import { entryExists, whyNotContained } from './contained-files.js';

/** One golden case: a sample CSV of a feed with the output (and rejects) it must produce. */
export interface GoldenCase {
  readonly feed: FeedConfig;
  readonly name: string;
  /** Paths relative to the config root. */
  readonly csv: string;
  readonly expected: string;
  readonly expectedRejects: string;
}

export interface GoldenResult {
  readonly case: GoldenCase;
  readonly outcome: FileOutcome;
  /** The output and rejects exactly as the engine wrote them. */
  readonly actual: { readonly output: Buffer; readonly rejects: Buffer };
  /** Empty when the case passes; otherwise where and how the actual output differs. */
  readonly differences: readonly string[];
}

/** Where a feed's golden samples live, relative to the config root. */
export function samplesFolder(feed: Pick<FeedConfig, 'partner' | 'id'>): string {
  return `mappings/${feed.partner}/${feed.id}/samples`;
}

/** The sample CSV file names of a feed, sorted. */
export function sampleFiles(root: string, feed: Pick<FeedConfig, 'partner' | 'id'>): string[] {
  const dir = join(root, samplesFolder(feed));
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((f) => f.name.endsWith('.csv') && !f.isDirectory())
    .map((f) => f.name)
    .sort();
}

/** Every `mappings/<partner>/<feed>/samples/<name>.csv` of every configured feed. */
export function findGoldenCases(root: string, config: PlatformConfig): GoldenCase[] {
  return listFeeds(config).flatMap((feed) => {
    const dir = samplesFolder(feed);
    return sampleFiles(root, feed).map((file) => {
      const name = file.slice(0, -'.csv'.length);
      return {
        feed,
        name,
        csv: `${dir}/${file}`,
        expected: `${dir}/${name}.expected.ndjson`,
        expectedRejects: `${dir}/${name}.expected-rejects.ndjson`,
      };
    });
  });
}

/** The object key a sample stands for: the feed's prefix, the sample name, the feed's suffix. */
export function sampleKey(c: GoldenCase): string {
  return `${c.feed.source.prefix}${c.name}${c.feed.source.suffix}`;
}

/** Runs one sample through the engine and compares output and rejects with the expected files, byte for byte. */
export async function runGoldenCase(root: string, c: GoldenCase): Promise<GoldenResult> {
  // A sample or expected file that is a link, or resolves outside the partner's folder, is never
  // read: its content would be printed in the diff (and so in CI logs).
  const refused = [c.csv, c.expected, c.expectedRejects].flatMap((file) => {
    const why = entryExists(join(root, file)) ? whyNotContained(root, file, `mappings/${c.feed.partner}`) : undefined;
    return why ? [why] : [];
  });
  if (refused.length > 0) {
    const outcome: FileOutcome = {
      status: 'FAILED',
      partner: c.feed.partner,
      feed: c.feed.id,
      key: sampleKey(c),
      rowsIn: 0,
      rowsOut: 0,
      rowsRejected: 0,
      errors: [],
      bytesIn: 0,
      durationMs: 0,
    };
    return { case: c, outcome, actual: { output: Buffer.alloc(0), rejects: Buffer.alloc(0) }, differences: refused };
  }
  const output = collect();
  const rejects = collect();
  const outcome = await transformFile(compileFeed(c.feed), {
    key: sampleKey(c),
    input: createReadStream(join(root, c.csv)),
    output: output.stream,
    rejects: rejects.stream,
  });
  const actual = { output: output.bytes(), rejects: rejects.bytes() };
  const differences: string[] = [];
  if (outcome.status === 'FAILED') {
    differences.push(
      `${c.csv}: the sample FAILED (${outcome.errors.map((e) => `${e.code}: ${e.message}`).join('; ')}); samples must end SUCCEEDED or PARTIAL`,
    );
  }
  if (!existsSync(join(root, c.expected))) {
    differences.push(`${c.expected}: missing; write the output the sample must produce (one JSON object per line)`);
  } else {
    differences.push(...compareRecords(c.expected, readFileSync(join(root, c.expected)), actual.output, c.feed.output.format));
  }
  const expectedRejects = existsSync(join(root, c.expectedRejects)) ? readFileSync(join(root, c.expectedRejects)) : Buffer.alloc(0);
  differences.push(...compareRecords(c.expectedRejects, expectedRejects, actual.rejects, 'ndjson'));
  return { case: c, outcome, actual, differences };
}

function collect(): { stream: PassThrough; bytes: () => Buffer } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, bytes: () => Buffer.concat(chunks) };
}

/**
 * Partners' consumers read the bytes, so the bytes are compared: spacing, key order, line endings and
 * the final newline all count. On a difference, the first differing line of each side, with the line
 * and column (in characters) of the first differing byte.
 */
export function compareBytes(file: string, expected: Buffer, actual: Buffer): string[] {
  if (expected.equals(actual)) return [];
  let at = 0;
  while (at < expected.length && at < actual.length && expected[at] === actual[at]) at++;
  const lineStart = expected.lastIndexOf(0x0a, at - 1) + 1; // the same on both sides: they agree up to `at`
  let line = 1;
  for (let i = expected.indexOf(0x0a); i !== -1 && i < lineStart; i = expected.indexOf(0x0a, i + 1)) line++;
  const column = expected.subarray(lineStart, at).toString('utf8').length + 1;
  const where = `${file}:${line}:${column}: `;
  return [`${where}expected ${lineAt(expected, lineStart)}\n${' '.repeat(where.length)}got      ${lineAt(actual, lineStart)}`];
}

/** A golden file as it is and as the engine's current output would make it (`undefined`: no such file). */
export interface GoldenFileChange {
  /** Relative to the config root. */
  readonly file: string;
  readonly before: Buffer | undefined;
  readonly after: Buffer | undefined;
}

/**
 * What `validate --update` would write for a case: the expected output, and the expected rejects
 * (removed when no row is rejected). Only for a sample that does not fail: a FAILED file has no
 * output to record.
 */
export function goldenChanges(root: string, result: GoldenResult): GoldenFileChange[] {
  if (result.outcome.status === 'FAILED') return [];
  const c = result.case;
  const read = (file: string) => (existsSync(join(root, file)) ? readFileSync(join(root, file)) : undefined);
  const changes: GoldenFileChange[] = [];
  const output = read(c.expected);
  if (!output || !output.equals(result.actual.output)) changes.push({ file: c.expected, before: output, after: result.actual.output });
  const rejects = read(c.expectedRejects);
  const wantRejects = result.actual.rejects.length > 0 ? result.actual.rejects : undefined;
  if (rejects === undefined ? wantRejects !== undefined : !wantRejects || !rejects.equals(wantRejects)) {
    changes.push({ file: c.expectedRejects, before: rejects, after: wantRejects });
  }
  return changes;
}

/** Writes (atomically, through a temporary file beside it) or removes each file; never through a symbolic link or out of the root. */
export function applyGoldenChanges(root: string, changes: readonly GoldenFileChange[]): void {
  const realRoot = realpathSync(root);
  for (const change of changes) {
    const path = join(root, change.file);
    const folder = realpathSync(dirname(path));
    if (folder !== realRoot && !folder.startsWith(realRoot + sep)) throw new Error(`${change.file} is outside ${root}; not written`);
    if (existsSync(path) && lstatSync(path).isSymbolicLink()) throw new Error(`${change.file} is a symbolic link; not written`);
    if (change.after === undefined) {
      rmSync(path, { force: true });
    } else {
      const temp = `${path}.${process.pid}.partial`;
      writeFileSync(temp, change.after);
      renameSync(temp, path);
    }
  }
}

/** The first differing bytes, then what differs record by record and field by field. */
function compareRecords(file: string, expected: Buffer, actual: Buffer, format: 'ndjson' | 'json'): string[] {
  const [first] = compareBytes(file, expected, actual);
  if (first === undefined) return [];
  const fields = recordDifferences(expected, actual, format).map((line) => `  ${visible(line)}`);
  return [[first, ...fields].join('\n')];
}

/** The line starting at `start`, printable on a terminal, or what stands in for it. */
function lineAt(bytes: Buffer, start: number): string {
  if (start >= bytes.length) return '(end of file)';
  const end = bytes.indexOf(0x0a, start);
  const text = visible(bytes.subarray(start, end === -1 ? bytes.length : end).toString('utf8'));
  return end === -1 ? `${text} (no newline at the end)` : text;
}

/** Control characters (a CR before the newline, an escape sequence in partner data) shown as escapes. */
function visible(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) =>
    ch === '\r' ? '\\r' : ch === '\t' ? '\\t' : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
