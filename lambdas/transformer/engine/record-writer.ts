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

  /** Appends one already serialised record; returns a promise only when the sink asks to wait. */
  write(json: string): Promise<void> | undefined {
    if (this.format === 'ndjson') this.pending += `${json}\n`;
    else this.pending += `${this.count === 0 ? '[\n' : ',\n'}${json}`;
    this.count++;
    return this.pending.length >= BATCH_CHARS ? this.flush() : undefined;
  }

  /** Writes what is pending and closes the document (a JSON array is closed even when empty). */
  async finish(): Promise<void> {
    if (this.format === 'json') this.pending += this.count === 0 ? '[]\n' : '\n]\n';
    await this.flush();
  }

  private flush(): Promise<void> | undefined {
    if (!this.pending) return undefined;
    const text = this.pending;
    this.pending = '';
    return this.sink.write(text) ? undefined : waitForDrain(this.sink);
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
