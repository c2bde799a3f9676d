import { notRunningMessage, openTargetOrReport } from './ledger-target.js';
import { safeWriter } from './terminal.js';

/**
 * `partner-etl reprocess <key>`: marks the key's latest version for a new attempt (its history is
 * kept) and redelivers its event to the feed's queue. Exit 0 when queued, 1 when there is no such
 * file or nothing to take it, 2 on a target error.
 */
export async function runReprocessCommand(options: { key: string; stage?: string; stateDir: string }): Promise<number> {
  const target = await openTargetOrReport({ stage: options.stage, stateDir: options.stateDir });
  if (!target) return 2;
  const stderr = safeWriter(process.stderr);
  try {
    if (!target.redeliver || !target.platform) {
      stderr.write(`partner-etl: ${notRunningMessage(options.stateDir)}\n`);
      return 1;
    }
    const record = await target.ledger.requestReprocess(target.inboundBucket, options.key);
    if (!record) {
      stderr.write(`partner-etl: there is no file ${options.key} in ${target.description}\n`);
      return 1;
    }
    const object = {
      bucket: record.bucket,
      key: record.key,
      etag: record.etag,
      size: record.size,
      sequencer: record.sequencer,
      time: record.receivedAt,
      ...(record.versionId ? { versionId: record.versionId } : {}),
    };
    await target.redeliver(object, `${record.partner}/${record.feed}`);
    safeWriter(process.stdout).write(
      `queued ${options.key} (${record.partner}/${record.feed}, last ${record.status}, ${record.attempts} attempt${record.attempts === 1 ? '' : 's'}) for a new attempt on ${target.platform}\n`,
    );
    return 0;
  } finally {
    await target.close();
  }
}
