import { createReadStream, createWriteStream, existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type { FileOutcome } from '../../lambdas/transformer/engine/outcome.js';
import { compileFeed, transformFile } from '../../lambdas/transformer/engine/transform.js';
import { feedAndFileOrReport } from './find-feed.js';
import { describeError, describeWarning, ProgressBar } from './progress.js';
import { escapeControls, safeWriter } from './terminal.js';

export interface TransformCommandOptions {
  readonly root: string;
  readonly feed: string;
  readonly file: string;
  readonly out?: string;
  readonly rejects?: string;
  readonly summary?: string;
  readonly key?: string;
}

/** Files above this size get a progress bar (on a terminal only). */
const PROGRESS_MIN_BYTES = 4 * 1024 * 1024;

/**
 * `partner-etl transform`: runs one local file through the engine. The output is written aside and
 * published (renamed, or copied to stdout) only when the file does not fail. Exit 0 SUCCEEDED or
 * PARTIAL, 1 FAILED, 2 usage or config error.
 */
export async function runTransformCommand(options: TransformCommandOptions): Promise<number> {
  const err = safeWriter(process.stderr);
  const found = feedAndFileOrReport(options.root, options.feed, options.file, err);
  if (!found) return 2;
  const { feed, sizeBytes } = found;
  const key = options.key ?? `${feed.source.prefix}${basename(options.file)}`;

  // Output is written aside and published only if the file does not fail: renamed into place when
  // --out is a regular file path (atomic, in the same folder), copied when it is stdout or a device.
  const renameInto = options.out !== undefined && !(existsSync(options.out) && !statSync(options.out).isFile());
  const outTemp = renameInto
    ? join(dirname(options.out!), `.${basename(options.out!)}.${process.pid}.partial`)
    : join(tmpdir(), `partner-etl-${process.pid}-${Date.now()}.out`);
  const output = createWriteStream(outTemp, { highWaterMark: 1 << 20 }); // room for several batches: the engine waits less
  const rejects: Writable = options.rejects ? createWriteStream(options.rejects) : discard();
  const progress = process.stderr.isTTY && sizeBytes >= PROGRESS_MIN_BYTES ? new ProgressBar(process.stderr, sizeBytes) : undefined;

  let outcome: FileOutcome;
  try {
    outcome = await transformFile(compileFeed(feed), {
      key,
      // 128 KiB reads: measured fastest on the bench file (64 KiB: more overhead; 256 KiB+: bigger strings, more GC)
      input: createReadStream(options.file, { highWaterMark: 128 * 1024 }),
      output,
      rejects,
      sizeBytes,
      onProgress: progress ? (p) => progress.update(p) : undefined,
    });
  } finally {
    progress?.done();
    output.end();
    rejects.end();
    await Promise.all([finished(output), finished(rejects)]);
  }

  if (outcome.status === 'FAILED') {
    rmSync(outTemp, { force: true });
  } else if (renameInto) {
    renameSync(outTemp, options.out!);
  } else {
    // Records shown on a terminal get their control characters escaped (the JSON stays valid and equal).
    const copy = options.out || !process.stdout.isTTY ? createReadStream(outTemp) : createReadStream(outTemp, 'utf8').map(escapeControls);
    const target = options.out ? createWriteStream(options.out) : process.stdout;
    copy.pipe(target, { end: target !== process.stdout });
    await finished(copy);
    if (target !== process.stdout) await finished(target);
    rmSync(outTemp, { force: true });
  }

  const summary = {
    status: outcome.status,
    partner: outcome.partner,
    feed: outcome.feed,
    key: outcome.key,
    rowsIn: outcome.rowsIn,
    rowsOut: outcome.rowsOut,
    rowsRejected: outcome.rowsRejected,
    errors: outcome.errors,
    durationMs: outcome.durationMs,
    ...(outcome.mappingFallbacks ? { mappingFallbacks: outcome.mappingFallbacks } : {}),
    ...(outcome.warnings ? { warnings: outcome.warnings } : {}),
  };
  if (options.summary) writeFileSync(options.summary, `${JSON.stringify(summary, null, 2)}\n`);

  err.write(
    `${outcome.status} ${feed.partner}/${feed.id} ${key}: ${outcome.rowsIn} rows in, ${outcome.rowsOut} out, ${outcome.rowsRejected} rejected (${outcome.durationMs} ms)\n`,
  );
  for (const w of outcome.warnings ?? []) err.write(`  warning ${describeWarning(key, w)}\n`);
  for (const f of outcome.mappingFallbacks ?? []) {
    if (f.deferred > 0)
      err.write(
        `  mapping ${f.field || '(whole record)'}: ${f.deferred} row${f.deferred === 1 ? '' : 's'} on the interpreter (${f.reason})\n`,
      );
    if (f.errors > 0) {
      err.write(
        `  mapping ${f.field || '(whole record)'}: the compiled closure threw on ${f.errors} row${f.errors === 1 ? '' : 's'} (${f.error}); a compiler bug, please report it\n`,
      );
    }
  }
  const shown = outcome.errors.slice(0, 20);
  for (const e of shown) err.write(`  ${describeError(key, e)}\n`);
  if (outcome.errors.length > shown.length || outcome.rowsRejected > outcome.errors.length) {
    err.write(`  ... ${options.rejects ? `all rejected rows are in ${options.rejects}` : 'use --rejects FILE for every rejected row'}\n`);
  }
  return outcome.status === 'FAILED' ? 1 : 0;
}

function discard(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}
