import { basename } from 'node:path';
import { previewFile, renderPreview } from '../onboarding/preview.js';
import { feedAndFileOrReport } from './find-feed.js';
import { safeWriter } from './terminal.js';

export interface PreviewOptions {
  readonly root: string;
  readonly feed: string;
  readonly file: string;
  readonly rows: number;
}

/**
 * `partner-etl preview --feed <partner>/<feed> FILE [--rows 20]`: the first rows through the feed as
 * a table (rejected rows in red on a terminal, plain text otherwise), and how each expression runs.
 * Nothing is written. Exit 0 when the rows are shown (rejected ones included), 1 when the file fails
 * before its rows (a file-level error), 2 usage or config error.
 */
export async function runPreviewCommand(options: PreviewOptions): Promise<number> {
  const err = safeWriter(process.stderr);
  const found = feedAndFileOrReport(options.root, options.feed, options.file, err);
  if (!found) return 2;
  const { feed, sizeBytes } = found;
  const key = `${feed.source.prefix}${basename(options.file)}`; // as transform binds it
  const preview = await previewFile(feed, options.file, sizeBytes, options.rows, key);
  // Color only for a terminal that wants it (https://no-color.org); the text escapes every control character itself.
  const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
  process.stdout.write(renderPreview(preview, { color }));
  return preview.fileError ? 1 : 0;
}
