import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { FeedConfig, PlatformConfig } from '../../lambdas/transformer/model.js';
import { listFeeds } from '../../lambdas/transformer/model.js';
import type { FileOutcome } from '../../lambdas/transformer/engine/outcome.js';
import { compileFeed, transformFile } from '../../lambdas/transformer/engine/transform.js';

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
  return readdirSync(dir)
    .filter((f) => f.endsWith('.csv'))
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
    differences.push(...compareBytes(c.expected, readFileSync(join(root, c.expected)), actual.output));
  }
  const expectedRejects = existsSync(join(root, c.expectedRejects)) ? readFileSync(join(root, c.expectedRejects)) : Buffer.alloc(0);
  differences.push(...compareBytes(c.expectedRejects, expectedRejects, actual.rejects));
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
