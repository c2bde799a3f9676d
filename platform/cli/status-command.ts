import type { FileRecord, LedgerStatus } from '../../lambdas/transformer/ledger/file-ledger.js';
import { listFeeds, type PlatformConfig } from '../../lambdas/transformer/model.js';
import { checkOverdue, scheduledFeeds, type OverdueFeed } from '../../lambdas/transformer/overdue.js';
import { openTargetOrReport } from './ledger-target.js';
import { describeError, describeWarning } from './progress.js';
import { safeWriter } from './terminal.js';

export interface StatusOptions {
  readonly key?: string;
  readonly partner?: string;
  readonly feed?: string;
  readonly status?: string;
  readonly since?: string;
  readonly json?: boolean;
  /** Files, rows and rejects per partner and feed instead of one line per file. */
  readonly summary?: boolean;
  /** The scheduled feeds whose latest deadline passed with no file received in its window. */
  readonly overdue?: { readonly config: PlatformConfig; readonly root: string };
  readonly stage?: string;
  readonly stateDir: string;
}

/** Files a listing reads at most (newest first). */
const LIST_LIMIT = 500;
/** Files a summary adds up at most. */
const SUMMARY_LIMIT = 100_000;

const STATUSES: readonly LedgerStatus[] = ['RECEIVED', 'PROCESSING', 'SUCCEEDED', 'PARTIAL', 'FAILED', 'DUPLICATE'];

/**
 * `partner-etl status`: files newest first, a summary per feed, or one file's history, read from
 * the ledger alone (no partner file is needed). Exit 0; 1 for a key the ledger does not know; 2 on a
 * usage or target error.
 */
export async function runStatusCommand(options: StatusOptions): Promise<number> {
  const out = safeWriter(process.stdout);
  const err = safeWriter(process.stderr);
  let since: Date | undefined;
  let feed: { partner: string; feed: string } | undefined;
  try {
    since = options.since ? parseSince(options.since) : undefined;
    feed = options.feed === undefined ? undefined : parseFeedOption(options.feed);
  } catch (error) {
    err.write(`partner-etl: ${(error as Error).message}\n`);
    return 2;
  }
  if (feed && options.partner && options.partner !== feed.partner) {
    err.write(`partner-etl: --feed ${options.feed} is not a feed of --partner ${options.partner}\n`);
    return 2;
  }
  const status = options.status?.toUpperCase() as LedgerStatus | undefined;
  if (status && !STATUSES.includes(status)) {
    err.write(`partner-etl: --status must be one of ${STATUSES.join(', ')}, not ${JSON.stringify(options.status)}\n`);
    return 2;
  }
  const target = await openTargetOrReport({ stage: options.stage, stateDir: options.stateDir });
  if (!target) return 2;
  try {
    if (options.key) {
      const history = await target.ledger.history(target.inboundBucket, options.key);
      if (history.length === 0) {
        err.write(`partner-etl: there is no file ${options.key} in ${target.description}\n`);
        if (options.json) out.write('[]\n');
        return 1;
      }
      if (options.json)
        out.write(
          `${JSON.stringify(
            history.map((r, i) => ({ ...toJson(r), latest: i === history.length - 1 })),
            null,
            2,
          )}\n`,
        );
      else history.forEach((record, i) => out.write(describeRecord(record, i === history.length - 1)));
      return 0;
    }
    if (options.overdue) {
      const feeds = scheduledFeeds(listFeeds(options.overdue.config)).filter(
        (f) => (!options.partner || f.partner === options.partner) && (!feed || (f.partner === feed.partner && f.id === feed.feed)),
      );
      const now = new Date();
      const late: OverdueFeed[] = [];
      for (const f of feeds) {
        const overdue = await checkOverdue(target.ledger, f, now);
        if (overdue) late.push(overdue);
      }
      if (options.json) out.write(`${JSON.stringify(late, null, 2)}\n`);
      else if (feeds.length === 0) out.write(`No feed in ${options.overdue.root} declares a schedule.\n`);
      else if (late.length === 0)
        out.write(
          `No feed is overdue: ${feeds.length === 1 ? 'the scheduled feed has' : `each of the ${feeds.length} scheduled feeds has`} a file in its latest window.\n`,
        );
      for (const o of options.json ? [] : late) {
        out.write(
          `OVERDUE ${`${o.partner}/${o.feed}`.padEnd(22)} due by ${o.deadline}, no file under ${o.prefix} since ${o.windowStart}  (${o.schedule})\n`,
        );
      }
      return 0;
    }
    const records = await target.ledger.list({
      partner: feed?.partner ?? options.partner,
      feed: feed?.feed,
      status,
      since,
      limit: options.summary ? SUMMARY_LIMIT : LIST_LIMIT,
    });
    if (options.summary) {
      const rows = summarize(records);
      if (options.json) out.write(`${JSON.stringify(rows, null, 2)}\n`);
      else out.write(formatSummary(rows, target.description));
      return 0;
    }
    if (options.json) {
      out.write(`${JSON.stringify(records.map(toJson), null, 2)}\n`);
      return 0;
    }
    if (records.length === 0) out.write(`No file in ${target.description} matches${describeFilter(options, status)}.\n`);
    for (const r of records) {
      const rows = r.rowsIn === undefined ? '' : `${r.rowsIn} in, ${r.rowsOut} out, ${r.rowsRejected} rejected`;
      out.write(`${r.receivedAt}  ${r.status.padEnd(10)} ${`${r.partner}/${r.feed}`.padEnd(22)} ${rows.padEnd(32)} ${r.key}\n`);
    }
    if (records.length === LIST_LIMIT) out.write(`(the newest ${LIST_LIMIT} files; narrow with --since, --partner, --feed or --status)\n`);
    return 0;
  } finally {
    await target.close();
  }
}

/** `--feed` is `<partner>/<feed>` in every command. */
export function parseFeedOption(text: string): { partner: string; feed: string } {
  const m = /^([a-z][a-z0-9-]*)\/([a-z][a-z0-9-]*)$/.exec(text);
  if (!m) throw new RangeError(`--feed takes <partner>/<feed>, e.g. acme/orders, not ${JSON.stringify(text)}`);
  return { partner: m[1]!, feed: m[2]! };
}

function describeFilter(options: StatusOptions, status: string | undefined): string {
  const parts = [
    options.feed ? `feed ${options.feed}` : options.partner ? `partner ${options.partner}` : '',
    status ? `status ${status}` : '',
    options.since ? `received since ${options.since}` : '',
  ].filter(Boolean);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

/** One partner and feed's files in a summary. */
export interface FeedSummary {
  readonly partner: string;
  readonly feed: string;
  readonly files: number;
  readonly succeeded: number;
  readonly partial: number;
  readonly failed: number;
  readonly duplicate: number;
  /** Files not final yet (RECEIVED, PROCESSING). */
  readonly inFlight: number;
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly rowsRejected: number;
  readonly lastReceivedAt: string;
}

/** Files, rows and rejects per partner and feed, sorted by partner and feed. */
export function summarize(records: readonly FileRecord[]): FeedSummary[] {
  const byFeed = new Map<string, { -readonly [K in keyof FeedSummary]: FeedSummary[K] }>();
  for (const r of records) {
    const id = `${r.partner}/${r.feed}`;
    let s = byFeed.get(id);
    if (!s) {
      s = {
        partner: r.partner,
        feed: r.feed,
        files: 0,
        succeeded: 0,
        partial: 0,
        failed: 0,
        duplicate: 0,
        inFlight: 0,
        rowsIn: 0,
        rowsOut: 0,
        rowsRejected: 0,
        lastReceivedAt: r.receivedAt,
      };
      byFeed.set(id, s);
    }
    s.files += 1;
    if (r.status === 'SUCCEEDED') s.succeeded += 1;
    else if (r.status === 'PARTIAL') s.partial += 1;
    else if (r.status === 'FAILED') s.failed += 1;
    else if (r.status === 'DUPLICATE') s.duplicate += 1;
    else s.inFlight += 1;
    // a DUPLICATE wrote nothing: its rows are the original's
    if (r.status !== 'DUPLICATE') {
      s.rowsIn += r.rowsIn ?? 0;
      s.rowsOut += r.rowsOut ?? 0;
      s.rowsRejected += r.rowsRejected ?? 0;
    }
    if (r.receivedAt > s.lastReceivedAt) s.lastReceivedAt = r.receivedAt;
  }
  return [...byFeed.values()].sort((a, b) => a.partner.localeCompare(b.partner) || a.feed.localeCompare(b.feed));
}

function formatSummary(rows: readonly FeedSummary[], description: string): string {
  if (rows.length === 0) return `No file in ${description} matches.\n`;
  const header = ['feed', 'files', 'ok', 'partial', 'failed', 'dup', 'in flight', 'rows in', 'rows out', 'rejected', 'last received'];
  const table = rows.map((r) => [
    `${r.partner}/${r.feed}`,
    ...[r.files, r.succeeded, r.partial, r.failed, r.duplicate, r.inFlight, r.rowsIn, r.rowsOut, r.rowsRejected].map(String),
    r.lastReceivedAt,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...table.map(line)].join('\n')}\n`;
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
    warnings: r.warnings ?? [],
    history: r.history,
  };
}

function describeRecord(r: FileRecord, latest: boolean): string {
  const lines = [
    `${r.key}  version ${r.versionId ?? `(sequencer ${r.sequencer})`}${latest ? ' (latest)' : ''}  etag ${r.etag}  ${r.size} bytes`,
    `  ${r.status}  ${r.partner}/${r.feed}  received ${r.receivedAt}${r.finishedAt ? `  finished ${r.finishedAt}` : ''}  attempts ${r.attempts}`,
  ];
  if (r.rowsIn !== undefined) lines.push(`  rows: ${r.rowsIn} in, ${r.rowsOut} out, ${r.rowsRejected} rejected`);
  if (r.outputKey) lines.push(`  output: ${r.outputKey}`);
  if (r.rejectsKey) lines.push(`  rejects: ${r.rejectsKey}`);
  if (r.duplicateOf) lines.push(`  duplicate of version ${r.duplicateOf}`);
  for (const e of r.errors ?? []) lines.push(`  ${describeError(r.key, e)}`);
  for (const w of r.warnings ?? []) lines.push(`  warning ${describeWarning(r.key, w)}`);
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
