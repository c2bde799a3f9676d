/**
 * The overdue check: at a feed's deadline, is there a file received in the window the deadline
 * closes? If not, a `FileOverdue` event. The same function runs in the check Lambda (EventBridge
 * Scheduler calls it at each deadline) and on the local platform's timer.
 */
import { createHash } from 'node:crypto';
import type { EventPublisher } from './adapters/object-store.js';
import type { FileLedger } from './ledger/file-ledger.js';
import type { FeedConfig } from './model.js';
import { latestDeadline, previousDeadline, type ScheduleConfig } from './schedule.js';

/** The files a check reads at most: those received since the window opened, newest first. */
const CHECK_LIMIT = 10_000;

export const FILE_OVERDUE = 'FileOverdue';

/** A feed whose deadline passed with no file received in its window. */
export interface OverdueFeed {
  readonly partner: string;
  readonly feed: string;
  /** The schedule as the partner file says it. */
  readonly schedule: string;
  /** The deadline that passed (ISO). */
  readonly deadline: string;
  /** The previous deadline: the window opened then (ISO, exclusive). */
  readonly windowStart: string;
  /** The source prefix the file was expected under. */
  readonly prefix: string;
}

/**
 * Checks the window closed by the feed's latest deadline at `now`: undefined when a file was
 * received in it (any status: the file arrived), else the overdue feed.
 */
export async function checkOverdue(
  ledger: FileLedger,
  feed: FeedConfig & { schedule: ScheduleConfig },
  now: Date,
): Promise<OverdueFeed | undefined> {
  const deadline = latestDeadline(feed.schedule, now);
  const windowStart = previousDeadline(feed.schedule, deadline);
  const files = await ledger.list({ partner: feed.partner, feed: feed.id, since: new Date(windowStart.getTime() + 1), limit: CHECK_LIMIT });
  const end = deadline.toISOString();
  if (files.some((f) => f.receivedAt <= end)) return undefined;
  return {
    partner: feed.partner,
    feed: feed.id,
    schedule: feed.schedule.description,
    deadline: end,
    windowStart: windowStart.toISOString(),
    prefix: feed.source.prefix,
  };
}

/** Publishes `FileOverdue`; its `eventId` is the same for every check of one deadline (deduplicate on it). */
export async function publishOverdue(events: EventPublisher, overdue: OverdueFeed, checkedAt: Date): Promise<void> {
  const eventId = createHash('sha256')
    .update(`overdue\u0000${overdue.partner}/${overdue.feed}\u0000${overdue.deadline}`)
    .digest('hex')
    .slice(0, 32);
  await events.publish(FILE_OVERDUE, { eventId, ...overdue, checkedAt: checkedAt.toISOString() });
}

/** The feeds of a config that declare a schedule. */
export function scheduledFeeds(feeds: readonly FeedConfig[]): (FeedConfig & { schedule: ScheduleConfig })[] {
  return feeds.filter((f): f is FeedConfig & { schedule: ScheduleConfig } => f.schedule !== undefined);
}
