import { existsSync, statSync } from 'node:fs';
import { findFeed, type FeedConfig } from '../../lambdas/transformer/model.js';
import { loadPlatformConfig } from '../config/load-config.js';
import { formatProblem } from '../config/problems.js';
import type { SafeWriter } from './terminal.js';

/**
 * The `--feed <partner>/<feed>` (loaded from `root`) and the local file of a command that runs one
 * (`transform`, `preview`). When the feed is not valid, the config's errors and the known feeds are
 * told on `err`; when the file is not a regular file, that; either way it is undefined (exit 2).
 */
export function feedAndFileOrReport(
  root: string,
  feedId: string,
  file: string,
  err: SafeWriter,
): { feed: FeedConfig; sizeBytes: number } | undefined {
  const { config, problems } = loadPlatformConfig(root);
  const feed = findFeed(config, feedId);
  if (!feed) {
    for (const p of problems.filter((p) => p.severity === 'error')) err.write(`${formatProblem(p)}\n`);
    const known = config.partners.flatMap((p) => p.feeds.map((f) => `${p.id}/${f.id}`));
    err.write(`partner-etl: no valid feed "${feedId}" under ${root}; known feeds: ${known.join(', ') || 'none'}\n`);
    return undefined;
  }
  if (!existsSync(file) || !statSync(file).isFile()) {
    err.write(`partner-etl: ${file}: no such file\n`);
    return undefined;
  }
  return { feed, sizeBytes: statSync(file).size };
}
