import { PassThrough, Readable } from 'node:stream';
import type { CsvConfig, FeedConfig } from '../../lambdas/transformer/model.js';
import type { FileOutcome } from '../../lambdas/transformer/engine/outcome.js';
import { compileFeed, transformFile, type EngineLimits } from '../../lambdas/transformer/engine/transform.js';

/** A feed for tests: an identity-ish mapping over the given columns unless a mapping is given. */
export function makeFeed(overrides: Partial<Omit<FeedConfig, 'csv'>> & { csv?: Partial<CsvConfig> } = {}): FeedConfig {
  const { csv, ...rest } = overrides;
  return {
    partner: 'test',
    id: 'feed',
    source: { prefix: 'test/feed/', suffix: '.csv' },
    csv: {
      delimiter: ',',
      quote: '"',
      escape: '"',
      encoding: 'utf-8',
      header: true,
      skipLines: 0,
      trim: false,
      nullValues: [''],
      ...csv,
    },
    mapping: { kind: 'expression', file: 'identity.jsonata', expression: '$' },
    schemaFile: 'any.schema.json',
    schema: { type: 'object' },
    output: { dataset: 'test', format: 'ndjson' },
    errors: { maxRejectedPercent: 100 },
    maxFileMiB: 2048,
    concurrency: 5,
    ...rest,
  };
}

export interface EngineRun {
  readonly outcome: FileOutcome;
  readonly output: string;
  readonly records: unknown[];
  readonly rejects: Record<string, unknown>[];
}

/** Runs the engine over bytes or text, fed in chunks of `chunkSize` bytes (default: one chunk). */
export async function runEngine(
  feed: FeedConfig,
  input: string | Uint8Array,
  options: { chunkSize?: number; key?: string; sizeBytes?: number; limits?: Partial<EngineLimits> } = {},
): Promise<EngineRun> {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input);
  const size = options.chunkSize ?? Math.max(bytes.length, 1);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  const output = collect();
  const rejects = collect();
  const outcome = await transformFile(compileFeed(feed), {
    key: options.key ?? 'test/feed/file.csv',
    input: Readable.from(chunks),
    output: output.stream,
    rejects: rejects.stream,
    ...(options.sizeBytes === undefined ? {} : { sizeBytes: options.sizeBytes }),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const text = output.text();
  const records = feed.output.format === 'json' ? (text ? JSON.parse(text) : []) : lines(text).map((l) => JSON.parse(l));
  return { outcome, output: text, records, rejects: lines(rejects.text()).map((l) => JSON.parse(l)) };
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}
