import type { Writable } from 'node:stream';
import type { OutputFormat } from '../model.js';

/** Bytes gathered before one write to the sink: fewer, larger writes, same backpressure. */
const BATCH_CHARS = 64 * 1024;

/**
 * Writes JSON records as NDJSON (one per line) or as one JSON array, batching small writes and
 * waiting for `drain` whenever the sink asks for it, so a slow sink slows the reader down instead
 * of filling memory.
 */
export class RecordWriter {
  private pending = '';
  private count = 0;

  constructor(
    private readonly sink: Writable,
    private readonly format: OutputFormat,
  ) {}

  /** Appends one already serialised record; resolves when the sink can take more. */
  async write(json: string): Promise<void> {
    if (this.format === 'ndjson') this.pending += `${json}\n`;
    else this.pending += `${this.count === 0 ? '[\n' : ',\n'}${json}`;
    this.count++;
    if (this.pending.length >= BATCH_CHARS) await this.flush();
  }

  /** Writes what is pending and closes the document (a JSON array is closed even when empty). */
  async finish(): Promise<void> {
    if (this.format === 'json') this.pending += this.count === 0 ? '[]\n' : '\n]\n';
    await this.flush();
  }

  private async flush(): Promise<void> {
    if (!this.pending) return;
    const text = this.pending;
    this.pending = '';
    if (!this.sink.write(text)) await waitForDrain(this.sink);
  }
}

function waitForDrain(sink: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      sink.off('error', onError);
      sink.off('close', onDrain);
      resolve();
    };
    const onError = (err: Error) => {
      sink.off('drain', onDrain);
      sink.off('close', onDrain);
      reject(err);
    };
    sink.once('drain', onDrain);
    sink.once('close', onDrain);
    sink.once('error', onError);
  });
}
