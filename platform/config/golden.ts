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
  /** Empty when the case passes; otherwise where and how the actual output differs. */
  readonly differences: readonly string[];
}

/** Every `mappings/<partner>/<feed>/samples/<name>.csv` of every configured feed. */
export function findGoldenCases(root: string, config: PlatformConfig): GoldenCase[] {
  return listFeeds(config).flatMap((feed) => {
    const dir = `mappings/${feed.partner}/${feed.id}/samples`;
    if (!existsSync(join(root, dir))) return [];
    return readdirSync(join(root, dir))
      .filter((f) => f.endsWith('.csv'))
      .sort()
      .map((file) => {
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

/** Runs one sample through the engine and compares output and rejects with the expected files, line by line. */
export async function runGoldenCase(root: string, c: GoldenCase): Promise<GoldenResult> {
  const output = collect();
  const rejects = collect();
  const outcome = await transformFile(compileFeed(c.feed), {
    key: sampleKey(c),
    input: createReadStream(join(root, c.csv)),
    output: output.stream,
    rejects: rejects.stream,
  });
  const differences: string[] = [];
  if (outcome.status === 'FAILED') {
    differences.push(
      `${c.csv}: the sample FAILED (${outcome.errors.map((e) => `${e.code}: ${e.message}`).join('; ')}); samples must end SUCCEEDED or PARTIAL`,
    );
  }
  if (!existsSync(join(root, c.expected))) {
    differences.push(`${c.expected}: missing; write the output the sample must produce (one JSON object per line)`);
  } else {
    differences.push(...compareLines(c.expected, readFileSync(join(root, c.expected), 'utf8'), output.text()));
  }
  const expectedRejects = existsSync(join(root, c.expectedRejects)) ? readFileSync(join(root, c.expectedRejects), 'utf8') : '';
  differences.push(...compareLines(c.expectedRejects, expectedRejects, rejects.text()));
  return { case: c, outcome, differences };
}

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** Compares as JSON lines where both parse (so key order still counts but spacing does not), else as text. */
function compareLines(file: string, expectedText: string, actualText: string): string[] {
  const expected = splitLines(expectedText);
  const actual = splitLines(actualText);
  const out: string[] = [];
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    const e = expected[i];
    const a = actual[i];
    if (e !== undefined && a !== undefined && normalise(e) === normalise(a)) continue;
    if (e === undefined) out.push(`${file}:${i + 1}: unexpected extra line ${a}`);
    else if (a === undefined) out.push(`${file}:${i + 1}: expected ${e}, got no line`);
    else out.push(`${file}:${i + 1}: expected ${e}\n${' '.repeat(file.length + String(i + 1).length + 3)}got      ${a}`);
    if (out.length >= 10) break;
  }
  return out;
}

function splitLines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

function normalise(line: string): string {
  try {
    return JSON.stringify(JSON.parse(line));
  } catch {
    return line;
  }
}
