import type { WriteStream } from 'node:tty';
import type { FileWarning } from '../../lambdas/transformer/engine/header-drift.js';
import type { FileError, RowError } from '../../lambdas/transformer/engine/outcome.js';
import type { Progress } from '../../lambdas/transformer/engine/transform.js';

/** A one-line progress bar on a terminal: bytes read, rows, rows per second. */
export class ProgressBar {
  private readonly started: number;
  private lastDraw = 0;

  constructor(
    private readonly out: WriteStream | NodeJS.WriteStream,
    private readonly totalBytes: number,
    /** Milliseconds; a test passes its own clock. */
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.started = clock();
  }

  update(progress: Progress): void {
    const now = this.clock();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const fraction = Math.min(1, progress.bytes / this.totalBytes);
    const width = 30;
    const filled = Math.round(fraction * width);
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? Math.round(progress.rows / seconds) : 0;
    this.out.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ` +
        `${mib(progress.bytes)}/${mib(this.totalBytes)} MiB, ${progress.rows.toLocaleString('en-US')} rows, ${rate.toLocaleString('en-US')} rows/s`,
    );
  }

  done(): void {
    if (this.lastDraw > 0) this.out.write('\r\x1b[K');
  }
}

function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

/** `key line 418: /amount must be number [SCHEMA_VIOLATION]`, the one-line form of an error (never with the row's values). */
export function describeError(key: string, error: FileError | RowError): string {
  const where = error.line === undefined ? key : `${key} line ${error.line}`;
  return `${where}: ${error.message} [${error.code}]`;
}

/** `key line 1: the header differs from ... [HEADER_DRIFT]`, the one-line form of a warning. */
export function describeWarning(key: string, warning: FileWarning): string {
  return `${key} line ${warning.line}: ${warning.message} [${warning.code}]`;
}
