import { describe, expect, it } from 'vitest';
import {
  latestDeadline,
  nextDeadline,
  parseSchedule,
  previousDeadline,
  schedulerExpression,
  type RawSchedule,
  type ScheduleConfig,
} from '../../../lambdas/transformer/schedule.js';

function schedule(raw: RawSchedule): ScheduleConfig {
  const { schedule: parsed, problems } = parseSchedule(raw);
  expect(problems).toEqual([]);
  return parsed!;
}
const at = (iso: string) => new Date(iso);
const iso = (d: Date) => d.toISOString();

describe('schedule deadlines', () => {
  const berlin = () => schedule({ every: 'day', by: '06:00', timezone: 'Europe/Berlin' });

  it('puts a Berlin 06:00 deadline at 05:00 UTC in winter and 04:00 UTC in summer', () => {
    expect(iso(latestDeadline(berlin(), at('2026-01-15T12:00:00Z')))).toBe('2026-01-15T05:00:00.000Z');
    expect(iso(latestDeadline(berlin(), at('2026-07-15T12:00:00Z')))).toBe('2026-07-15T04:00:00.000Z');
    // just before the deadline, the latest is the day before's
    expect(iso(latestDeadline(berlin(), at('2026-07-15T03:59:59.999Z')))).toBe('2026-07-14T04:00:00.000Z');
    expect(iso(latestDeadline(berlin(), at('2026-07-15T04:00:00Z')))).toBe('2026-07-15T04:00:00.000Z');
    expect(iso(nextDeadline(berlin(), at('2026-07-15T04:00:00Z')))).toBe('2026-07-16T04:00:00.000Z');
  });

  it('gives the window of the day the clocks go forward 23 hours, and of the day they go back 25', () => {
    const s = berlin();
    const spring = latestDeadline(s, at('2026-03-29T12:00:00Z'));
    expect(iso(spring)).toBe('2026-03-29T04:00:00.000Z');
    expect(iso(previousDeadline(s, spring))).toBe('2026-03-28T05:00:00.000Z');
    const autumn = latestDeadline(s, at('2026-10-25T12:00:00Z'));
    expect(iso(autumn)).toBe('2026-10-25T05:00:00.000Z');
    expect(iso(previousDeadline(s, autumn))).toBe('2026-10-24T04:00:00.000Z');
  });

  it('moves a time the clocks skip forward by the gap, and takes the first of a time that happens twice', () => {
    const s = schedule({ every: 'day', by: '02:30', timezone: 'Europe/Berlin' });
    expect(iso(nextDeadline(s, at('2026-03-28T12:00:00Z')))).toBe('2026-03-29T01:30:00.000Z'); // 03:30 CEST
    expect(iso(nextDeadline(s, at('2026-10-24T12:00:00Z')))).toBe('2026-10-25T00:30:00.000Z'); // 02:30 CEST, not CET
    const ny = schedule({ every: 'day', by: '02:30', timezone: 'America/New_York' });
    expect(iso(nextDeadline(ny, at('2026-03-07T12:00:00Z')))).toBe('2026-03-08T07:30:00.000Z'); // 03:30 EDT
  });

  it('keeps a zone east of UTC on its own date around midnight', () => {
    const tokyo = schedule({ every: 'day', by: '01:00', timezone: 'Asia/Tokyo' });
    expect(iso(latestDeadline(tokyo, at('2026-05-01T15:59:00Z')))).toBe('2026-04-30T16:00:00.000Z');
    expect(iso(latestDeadline(tokyo, at('2026-05-01T16:00:00Z')))).toBe('2026-05-01T16:00:00.000Z');
  });

  it('skips weekends for weekday and cron schedules; a grace past midnight moves the day', () => {
    const weekday = schedule({ every: 'weekday', by: '09:00' });
    // Saturday 2026-11-28: the latest deadline is Friday's; Monday's is next
    expect(iso(latestDeadline(weekday, at('2026-11-28T12:00:00Z')))).toBe('2026-11-27T09:00:00.000Z');
    expect(iso(nextDeadline(weekday, at('2026-11-28T12:00:00Z')))).toBe('2026-11-30T09:00:00.000Z');
    expect(iso(previousDeadline(weekday, at('2026-11-30T09:00:00Z')))).toBe('2026-11-27T09:00:00.000Z');
    const late = schedule({ cron: '0 22 * * MON-FRI', grace: '3h', timezone: 'Europe/Berlin' });
    expect(late.days).toEqual([2, 3, 4, 5, 6]); // Tuesday to Saturday, 01:00
    expect(late.deadlineMinute).toBe(60);
    expect(schedulerExpression(late)).toBe('cron(0 1 ? * TUE,WED,THU,FRI,SAT *)');
    expect(schedulerExpression(schedule({ cron: '30 6 * * *', grace: '1h30m', timezone: 'UTC' }))).toBe('cron(0 8 * * ? *)');
    expect(late.description).toBe('cron 0 22 * * MON-FRI + 3h grace (Europe/Berlin)');
  });

  it('reports every problem of a schedule at once', () => {
    expect(parseSchedule({ every: 'month', by: '6am', timezone: 'Mars/Olympus', grace: 'soon' }).problems.map((p) => p.key)).toEqual([
      'timezone',
      'grace',
      'every',
      'by',
    ]);
    expect(parseSchedule({ cron: '0 6 1 * *' }).problems[0]!.message).toContain('cron takes "M H * * DOW"');
    expect(parseSchedule({ cron: '*/5 6 * * *' }).problems).toHaveLength(1);
    expect(parseSchedule({ by: '06:00' }).problems[0]!.message).toContain('exactly one of `every`');
    expect(parseSchedule({ every: 'day', by: '06:00', grace: '49h' }).problems[0]!.key).toBe('grace');
  });
});
