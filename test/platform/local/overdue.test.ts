import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startLocalPlatform } from '../../../platform/local/local-platform.js';
import type { Clock } from '../../../platform/local/overdue-watch.js';
import { makeConfigRoot, VALID_PARTNER, VALID_SCHEMA } from '../../support/config-root.js';

/** A clock that stands still until the test moves it; its timers fire when the test says so. */
function fakeClock(start: Date) {
  let now = start.getTime();
  const timers: { at: number; fire: () => void; cancelled: boolean }[] = [];
  const clock: Clock = {
    now: () => new Date(now),
    setTimer(ms, fire) {
      const timer = { at: now + ms, fire, cancelled: false };
      timers.push(timer);
      return () => (timer.cancelled = true);
    },
  };
  return {
    clock,
    pending: () => timers.filter((t) => !t.cancelled),
    /** Moves the clock to `at` and fires the timers due by then. */
    advanceTo(at: number) {
      now = at;
      for (const t of timers.filter((x) => !x.cancelled && x.at <= at)) {
        t.cancelled = true;
        t.fire();
      }
    },
  };
}

/** Two partners with the same feed scheduled every day by `by` (UTC): one will deliver, one will not. */
function scheduledRoot(by: string): string {
  const partner = (id: string) =>
    VALID_PARTNER.replace(/acme/g, id).replace(
      'output:\n      dataset: orders\n',
      `output:\n      dataset: orders\n    schedule:\n      every: day\n      by: "${by}"\n      timezone: UTC\n`,
    );
  return makeConfigRoot({
    'partners/acme.yaml': partner('acme'),
    'mappings/acme/orders.schema.json': VALID_SCHEMA,
    'partners/globex.yaml': partner('globex'),
    'mappings/globex/orders.schema.json': VALID_SCHEMA,
  });
}

describe('overdue checks on the local platform', () => {
  it('at the deadline, under a fake clock, raises FileOverdue for the feed with no file in its window and not for the other', async () => {
    const start = new Date();
    // the next deadline is two minutes ahead, on the minute
    const deadline = new Date(Math.ceil((start.getTime() + 120_000) / 60_000) * 60_000);
    const by = deadline.toISOString().slice(11, 16);
    const dir = mkdtempSync(join(tmpdir(), 'partner-etl-overdue-'));
    mkdirSync(join(dir, 'inbox/acme/orders'), { recursive: true });
    writeFileSync(join(dir, 'inbox/acme/orders/today.csv'), 'id,amount\nA,1\n');
    const time = fakeClock(start);
    const lines: string[] = [];
    const platform = await startLocalPlatform({
      root: scheduledRoot(by),
      inbox: join(dir, 'inbox'),
      outbox: join(dir, 'outbox'),
      stateDir: join(dir, 'state'),
      log: (line) => lines.push(line),
      clock: time.clock,
    });
    try {
      // the timer is set for exactly the deadline
      expect(time.pending().map((t) => t.at)).toEqual([deadline.getTime()]);
      await platform.scanInbox();
      await platform.settle();
      time.advanceTo(deadline.getTime() - 1); // a millisecond early: nothing fires
      expect(time.pending()).toHaveLength(1);
      time.advanceTo(deadline.getTime());
      const eventsFile = join(dir, 'outbox/events.ndjson');
      const overdueEvents = () =>
        existsSync(eventsFile)
          ? readFileSync(eventsFile, 'utf8')
              .trim()
              .split('\n')
              .map((l) => JSON.parse(l))
              .filter((e) => e['detail-type'] === 'FileOverdue')
          : [];
      for (let i = 0; i < 100 && overdueEvents().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      // wait until the next deadline is planned: the check is over
      for (let i = 0; i < 100 && time.pending().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(overdueEvents()).toEqual([
        expect.objectContaining({
          source: 'partner-etl',
          detail: {
            eventId: expect.stringMatching(/^[0-9a-f]{32}$/),
            partner: 'globex',
            feed: 'orders',
            schedule: `every day by ${by} (UTC)`,
            deadline: deadline.toISOString(),
            windowStart: new Date(deadline.getTime() - 86_400_000).toISOString(),
            prefix: 'globex/orders/',
            checkedAt: deadline.toISOString(),
          },
        }),
      ]);
      expect(lines).toContain(
        `OVERDUE   globex/orders        no file under globex/orders/ since ${new Date(deadline.getTime() - 86_400_000).toISOString()}; ` +
          `due by ${deadline.toISOString()} (every day by ${by} (UTC))`,
      );
      // and the next timer is tomorrow's deadline
      expect(time.pending().map((t) => t.at)).toEqual([deadline.getTime() + 86_400_000]);
    } finally {
      await platform.stop();
    }
  }, 120_000);
});
