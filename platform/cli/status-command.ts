import type { FileRecord, LedgerStatus } from '../../lambdas/transformer/ledger/file-ledger.js';
import type { PlatformConfig } from '../../lambdas/transformer/model.js';
import { openTargetOrReport } from './ledger-target.js';
import { describeError } from './progress.js';
import { safeWriter } from './terminal.js';

export interface StatusOptions {
  readonly key?: string;
  readonly partner?: string;
  readonly feed?: string;
  readonly status?: string;
  readonly since?: string;
  readonly json?: boolean;
  readonly stage?: string;
  readonly stateDir: string;
  readonly config: PlatformConfig;
}

const STATUSES: readonly LedgerStatus[] = ['RECEIVED', 'PROCESSING', 'SUCCEEDED', 'PARTIAL', 'FAILED', 'DUPLICATE'];

/** `partner-etl status`: files newest first, or one file's history. Exit 0; 2 on a usage or target error. */
export async function runStatusCommand(options: StatusOptions): Promise<number> {
  const out = safeWriter(process.stdout);
  let since: Date | undefined;
  try {
    since = options.since ? parseSince(options.since) : undefined;
  } catch (err) {
    safeWriter(process.stderr).write(`partner-etl: ${(err as Error).message}\n`);
    return 2;
  }
  const status = options.status?.toUpperCase() as LedgerStatus | undefined;
  if (status && !STATUSES.includes(status)) {
    process.stderr.write(`partner-etl: --status must be one of ${STATUSES.join(', ')}\n`);
    return 2;
  }
  const target = await openTargetOrReport({ stage: options.stage, stateDir: options.stateDir });
  if (!target) return 2;
  try {
    if (options.key) {
      const history = await target.ledger.history(target.inboundBucket, options.key);
      if (options.json) out.write(`${JSON.stringify(history.map(toJson), null, 2)}\n`);
      else if (history.length === 0) out.write(`no file ${options.key} in the ${target.description} ledger\n`);
      else for (const record of history) out.write(describeRecord(record));
      return 0;
    }
    const partners = options.partner ? [options.partner] : status ? [undefined] : options.config.partners.map((p) => p.id);
    const records: FileRecord[] = [];
    for (const partner of partners) {
      records.push(...(await target.ledger.list({ partner, feed: options.feed, status, since, limit: 500 })));
    }
    records.sort((a, b) => b.receivedAt.localeCompare(a.receivedAt));
    if (options.json) {
      out.write(`${JSON.stringify(records.map(toJson), null, 2)}\n`);
      return 0;
    }
    if (records.length === 0) out.write(`no files in the ${target.description} ledger match\n`);
    for (const r of records) {
      const rows = r.rowsIn === undefined ? '' : `${r.rowsIn} in, ${r.rowsOut} out, ${r.rowsRejected} rejected`;
      out.write(`${r.receivedAt}  ${r.status.padEnd(10)} ${`${r.partner}/${r.feed}`.padEnd(22)} ${rows.padEnd(32)} ${r.key}\n`);
    }
    return 0;
  } finally {
    await target.close();
  }
}

/** One file record as `status --json` prints it: the contract's fields first. */
export function toJson(r: FileRecord): Record<string, unknown> {
  return {
    key: r.key,
    partner: r.partner,
    feed: r.feed,
    status: r.status,
    rowsIn: r.rowsIn ?? null,
    rowsOut: r.rowsOut ?? null,
    rowsRejected: r.rowsRejected ?? null,
    attempts: r.attempts,
    outputKey: r.outputKey ?? null,
    receivedAt: r.receivedAt,
    finishedAt: r.finishedAt ?? null,
    versionId: r.versionId ?? null,
    etag: r.etag,
    sequencer: r.sequencer,
    rejectsKey: r.rejectsKey ?? null,
    manifestKey: r.manifestKey ?? null,
    summaryKey: r.summaryKey ?? null,
    duplicateOf: r.duplicateOf ?? null,
    configHash: r.configHash ?? null,
    errors: r.errors ?? [],
    history: r.history,
  };
}

function describeRecord(r: FileRecord): string {
  const lines = [
    `${r.key}  version ${r.versionId ?? `(sequencer ${r.sequencer})`}  etag ${r.etag}  ${r.size} bytes`,
    `  ${r.status}  ${r.partner}/${r.feed}  received ${r.receivedAt}${r.finishedAt ? `  finished ${r.finishedAt}` : ''}  attempts ${r.attempts}`,
  ];
  if (r.rowsIn !== undefined) lines.push(`  rows: ${r.rowsIn} in, ${r.rowsOut} out, ${r.rowsRejected} rejected`);
  if (r.outputKey) lines.push(`  output: ${r.outputKey}`);
  if (r.rejectsKey) lines.push(`  rejects: ${r.rejectsKey}`);
  if (r.duplicateOf) lines.push(`  duplicate of version ${r.duplicateOf}`);
  for (const e of r.errors ?? []) lines.push(`  ${describeError(r.key, e)}`);
  for (const a of r.history) lines.push(`  attempt ${a.attempt}: ${a.startedAt} -> ${a.finishedAt ?? '...'} ${a.outcome} (${a.requestId})`);
  return `${lines.join('\n')}\n`;
}

/** `24h`, `7d`, `30m` or an ISO date. */
export function parseSince(text: string, now = new Date()): Date {
  const m = /^(\d+)([mhd])$/.exec(text);
  if (m) return new Date(now.getTime() - Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd']);
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new RangeError(`--since takes 30m, 24h, 7d or an ISO date, not ${JSON.stringify(text)}`);
  return date;
}
