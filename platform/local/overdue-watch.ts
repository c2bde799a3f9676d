import type { EventPublisher } from '../../lambdas/transformer/adapters/object-store.js';
import type { FileLedger } from '../../lambdas/transformer/ledger/file-ledger.js';
import type { FeedConfig } from '../../lambdas/transformer/model.js';
import { checkOverdue, publishOverdue, scheduledFeeds } from '../../lambdas/transformer/overdue.js';
import { nextDeadline } from '../../lambdas/transformer/schedule.js';

/** Time as the overdue timer sees it; tests pass a fake one to fire a deadline at will. */
export interface Clock {
  now(): Date;
  /** Calls `fire` after `ms` milliseconds of this clock; returns a function that cancels it. */
  setTimer(ms: number, fire: () => void): () => void;
}

export const SYSTEM_CLOCK: Clock = {
  now: () => new Date(),
  setTimer(ms, fire) {
    const timer = setTimeout(fire, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

export interface OverdueWatch {
  /** Plans the next deadline again (after the feeds changed). */
  reschedule(): void;
  /** Resolves when a check in progress is done. */
  stop(): Promise<void>;
}

/**
 * EventBridge Scheduler, locally: one timer set for the next deadline of any scheduled feed; when it
 * fires, each feed whose deadline has just passed is checked, exactly as the check Lambda does it.
 */
export function startOverdueWatch(options: {
  readonly feeds: () => readonly FeedConfig[];
  readonly ledger: FileLedger;
  readonly events: EventPublisher;
  readonly clock: Clock;
  readonly log: (line: string) => void;
}): OverdueWatch {
  const { clock, log } = options;
  let cancel: (() => void) | undefined;
  let checking: Promise<void> = Promise.resolve();
  let stopped = false;
  /** Each scheduled feed's next deadline (epoch ms) as planned: the timer fires at the earliest. */
  const due = new Map<string, number>();

  const plan = () => {
    cancel?.();
    cancel = undefined;
    const feeds = scheduledFeeds(options.feeds());
    if (stopped || feeds.length === 0) return;
    const now = clock.now();
    due.clear();
    for (const f of feeds) due.set(`${f.partner}/${f.id}`, nextDeadline(f.schedule, now).getTime());
    const next = Math.min(...due.values());
    cancel = clock.setTimer(next - now.getTime(), () => {
      checking = checking.then(check).finally(plan);
    });
  };

  const check = async () => {
    const now = clock.now();
    for (const feed of scheduledFeeds(options.feeds())) {
      const name = `${feed.partner}/${feed.id}`;
      const deadline = due.get(name);
      if (deadline === undefined || deadline > now.getTime()) continue; // not this feed's deadline yet
      try {
        const overdue = await checkOverdue(options.ledger, feed, now);
        if (!overdue) continue;
        await publishOverdue(options.events, overdue, now);
        log(
          `OVERDUE   ${name.padEnd(20)} no file under ${overdue.prefix} since ${overdue.windowStart}; due by ${overdue.deadline} (${overdue.schedule})`,
        );
      } catch (err) {
        log(`OVERDUE   ${name}: the check failed: ${(err as Error).message}`);
      }
    }
  };

  plan();
  return {
    reschedule: plan,
    async stop() {
      stopped = true;
      cancel?.();
      await checking;
    },
  };
}
