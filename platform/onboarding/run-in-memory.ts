import { PassThrough, Readable } from 'node:stream';
import type { FileOutcome, RowReject } from '../../lambdas/transformer/engine/outcome.js';
import { compileFeed, transformFile } from '../../lambdas/transformer/engine/transform.js';
import type { FeedConfig } from '../../lambdas/transformer/model.js';

/** What the engine made of bytes held in memory: the outcome, the output as written, the rejects parsed. */
export interface InMemoryRun {
  readonly outcome: FileOutcome;
  readonly output: Buffer;
  readonly rejects: RowReject[];
}

/** Runs a sample (for `init`) or a file's head (for `preview`) through the feed, as `transform` would with `key`. */
export async function runInMemory(feed: FeedConfig, bytes: Buffer, key: string): Promise<InMemoryRun> {
  const output = collect();
  const rejects = collect();
  const outcome = await transformFile(compileFeed(feed), {
    key,
    input: Readable.from([bytes]),
    output: output.stream,
    rejects: rejects.stream,
  });
  const rejected = rejects
    .bytes()
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as RowReject);
  return { outcome, output: output.bytes(), rejects: rejected };
}

function collect(): { stream: PassThrough; bytes: () => Buffer } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, bytes: () => Buffer.concat(chunks) };
}
