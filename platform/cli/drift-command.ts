import { findFeed } from '../../lambdas/transformer/model.js';
import { loadPlatformConfig } from '../config/load-config.js';
import { DriftPatchError, formatPatch, planDriftPatch } from '../onboarding/drift-patch.js';
import { openTargetOrReport } from './ledger-target.js';
import { describeWarning } from './progress.js';
import { safeWriter } from './terminal.js';

export interface DriftOptions {
  readonly key: string;
  readonly root: string;
  readonly stage?: string;
  readonly stateDir: string;
}

/**
 * `partner-etl drift <key>`: the HEADER_DRIFT warning the ledger holds for the key's latest version,
 * turned into a patch of the feed's config under `--root` (stdout: a unified diff for `git apply`),
 * with what a person must decide on stderr. Exit 0 when a patch (or the absence of drift) is
 * printed, 1 when the ledger does not know the key or no patch can be made, 2 on a usage or target error.
 */
export async function runDriftCommand(options: DriftOptions): Promise<number> {
  const err = safeWriter(process.stderr);
  const target = await openTargetOrReport({ stage: options.stage, stateDir: options.stateDir });
  if (!target) return 2;
  let record;
  try {
    record = (await target.ledger.history(target.inboundBucket, options.key)).at(-1);
  } finally {
    await target.close();
  }
  if (!record) {
    err.write(`partner-etl: there is no file ${options.key} in ${target.description}\n`);
    return 1;
  }
  const warning = record.warnings?.find((w) => w.code === 'HEADER_DRIFT');
  if (!warning) {
    err.write(`${options.key} (${record.status}): no header drift was recorded for its latest version\n`);
    return 0;
  }
  err.write(`${describeWarning(options.key, warning)}\n`);
  const { config } = loadPlatformConfig(options.root);
  const feed = findFeed(config, `${record.partner}/${record.feed}`);
  if (!feed) {
    err.write(`partner-etl: no valid feed ${record.partner}/${record.feed} under ${options.root} (run partner-etl validate)\n`);
    return 2;
  }
  let patch;
  try {
    patch = planDriftPatch(options.root, feed, warning.drift);
  } catch (e) {
    if (!(e instanceof DriftPatchError)) throw e;
    err.write(`partner-etl: ${e.message}\n`);
    return 1;
  }
  // A patch piped to a file or to `git apply` is written as it is; on a terminal, control characters are escaped.
  const text = formatPatch(patch.files);
  if (process.stdout.isTTY) safeWriter(process.stdout).write(text);
  else process.stdout.write(text);
  if (patch.files.length === 0) err.write('nothing in the config to change\n');
  for (const note of patch.notes) err.write(`note: ${note}\n`);
  return 0;
}
