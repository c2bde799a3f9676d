/**
 * Streams a generated CSV of `argv[2]` MiB through the engine and prints the outcome with the peak
 * heap. Run under a small `--max-old-space-size` by the streaming test: if any stage held the file,
 * the process would die of heap exhaustion instead of printing.
 */
import { PassThrough, Writable } from 'node:stream';
import { compileFeed, transformFile } from '../../lambdas/transformer/engine/transform.js';
import { makeFeed } from './engine.js';

const totalMiB = Number(process.argv[2] ?? 200);
const rowText = `${'x'.repeat(200)},"${'y'.repeat(100)}\n${'y'.repeat(99)}",${'z'.repeat(200)}\n`;
const chunkRows = 200;
const chunk = Buffer.from(rowText.repeat(chunkRows));
const chunks = Math.floor((totalMiB * 1024 * 1024) / chunk.length);
let peakHeap = 0;

async function* input() {
  yield Buffer.from('a,b,c\n');
  for (let i = 0; i < chunks; i++) {
    if (i % 20 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    yield chunk;
  }
}

let outputBytes = 0;
const output = new Writable({
  write(c: Buffer, _e, cb) {
    outputBytes += c.length;
    cb();
  },
});
const feed = makeFeed({
  mapping: {
    kind: 'fields',
    fields: [
      { name: 'a', path: ['a'], expression: 'a' },
      { name: 'line', path: ['line'], expression: '$source.line' },
    ],
  },
});
const outcome = await transformFile(compileFeed(feed), { key: 'big.csv', input: input(), output, rejects: new PassThrough() });
process.stdout.write(
  JSON.stringify({
    status: outcome.status,
    rowsIn: outcome.rowsIn,
    rowsOut: outcome.rowsOut,
    bytesIn: outcome.bytesIn,
    outputBytes,
    peakHeap,
    expectedRows: chunks * chunkRows,
  }),
);
