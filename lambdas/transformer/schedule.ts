/**
 * Expected deliveries (`schedule` on a feed): when a file must have arrived, in the feed's time
 * zone. Both forms of the partner file, `every`/`by` and `cron` + `grace`, come down to the same
 * thing: a deadline at one local wall-clock time on some days of the week. A file is expected in
 * the window between one deadline and the next; when a deadline passes with no file received in its
 * window, the feed is overdue. Pure: no clock, no AWS; time zones from the platform's ICU data.
 */

/** A feed's expected delivery, normalised. */
export interface ScheduleConfig {
  /** IANA time zone of the wall-clock times (`Europe/Berlin`); `UTC` by default. */
  readonly timezone: string;
  /** The deadline's local wall-clock time, in minutes after midnight (0..1439). */
  readonly deadlineMinute: number;
  /** Days of the week (0 = Sunday .. 6 = Saturday) on which a deadline falls, ascending. */
  readonly days: readonly number[];
  /** The schedule as the partner file says it, for messages: `every day by 06:00 (Europe/Berlin)`. */
  readonly description: string;
}

/** A schedule as written in the partner file. */
export interface RawSchedule {
  every?: string;
  by?: string;
  cron?: string;
  grace?: string;
  timezone?: string;
}

const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;
const ALL_DAYS = [0, 1, 2, 3, 4, 5, 6] as const;
/** The longest grace: a deadline may move at most two days after the expected time. */
export const MAX_GRACE_MINUTES = 2 * 24 * 60;
const DAY_MS = 86_400_000;

/** A problem in a schedule: the key it is about and what is wrong. */
export interface ScheduleProblem {
  readonly key: keyof RawSchedule | undefined;
  readonly message: string;
  readonly value?: unknown;
}

/** Validates and normalises a schedule; every problem is returned, none thrown. */
export function parseSchedule(raw: RawSchedule): { schedule?: ScheduleConfig; problems: ScheduleProblem[] } {
  const problems: ScheduleProblem[] = [];
  const timezone = raw.timezone ?? 'UTC';
  if (!isTimeZone(timezone)) {
    problems.push({
      key: 'timezone',
      message: 'timezone must be an IANA time zone name such as Europe/Berlin or UTC',
      value: raw.timezone,
    });
  }
  const grace = raw.grace === undefined ? 0 : parseDuration(raw.grace);
  if (grace === undefined || grace > MAX_GRACE_MINUTES) {
    problems.push({
      key: 'grace',
      message: `grace is a duration such as 30m, 2h or 1h30m, at most ${MAX_GRACE_MINUTES / 60}h`,
      value: raw.grace,
    });
  }
  let expected: { minute: number; days: readonly number[] } | undefined;
  let what = '';
  if ((raw.cron === undefined) === (raw.every === undefined)) {
    problems.push({ key: undefined, message: 'a schedule needs exactly one of `every` (with `by`) and `cron` (with `grace`)' });
  } else if (raw.every !== undefined) {
    if (raw.every !== 'day' && raw.every !== 'weekday') {
      problems.push({
        key: 'every',
        message: 'every must be day or weekday (Monday to Friday); use cron for other days',
        value: raw.every,
      });
    }
    const by = raw.by === undefined ? undefined : parseClock(raw.by);
    if (by === undefined)
      problems.push({ key: 'by', message: 'by is the local time a file must have arrived by, as HH:MM (e.g. "06:00")', value: raw.by });
    else expected = { minute: by, days: raw.every === 'weekday' ? [1, 2, 3, 4, 5] : ALL_DAYS };
    what = `every ${raw.every} by ${raw.by}`;
  } else {
    if (raw.by !== undefined)
      problems.push({ key: 'by', message: 'by goes with every; with cron, the cron time plus grace is the deadline', value: raw.by });
    const cron = parseCron(raw.cron!);
    if (typeof cron === 'string') problems.push({ key: 'cron', message: cron, value: raw.cron });
    else expected = cron;
    what = `cron ${raw.cron}`;
  }
  if (problems.length > 0 || !expected || grace === undefined) return { problems };
  // The grace moves the deadline's wall-clock time, possibly into the next day(s).
  const total = expected.minute + grace;
  const shift = Math.floor(total / 1440);
  const days = [...new Set(expected.days.map((d) => (d + shift) % 7))].sort((a, b) => a - b);
  const description = `${what}${grace ? ` + ${raw.grace} grace` : ''} (${timezone})`;
  return { schedule: { timezone, deadlineMinute: total % 1440, days, description }, problems };
}

/** `HH:MM` (24-hour) as minutes after midnight. */
function parseClock(text: string): number | undefined {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(String(text));
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

/** `30m`, `2h`, `1h30m` as minutes. */
function parseDuration(text: string): number | undefined {
  const m = /^(?:(\d{1,3})h)?(?:(\d{1,4})m)?$/.exec(String(text));
  if (!m || (m[1] === undefined && m[2] === undefined)) return undefined;
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
}

/**
 * The cron subset a deadline needs: `M H * * DOW` (5 fields; one minute, one hour, every day of the
 * month and every month, every day of the week or a list/range of them, 0-7 or SUN-SAT). Returns
 * the expected time and days, or what is wrong.
 */
function parseCron(text: string): { minute: number; days: readonly number[] } | string {
  const shape =
    'cron takes "M H * * DOW": one minute, one hour, * for day of month and month, and * or days of the week (1-5, MON-FRI, SAT,SUN)';
  const fields = String(text).trim().split(/\s+/);
  if (fields.length !== 5) return shape;
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  if (!/^\d{1,2}$/.test(minute) || Number(minute) > 59 || !/^\d{1,2}$/.test(hour) || Number(hour) > 23) return shape;
  if (!['*', '?'].includes(dom) || month !== '*') return shape;
  let days: number[];
  if (dow === '*' || dow === '?') days = [...ALL_DAYS];
  else {
    days = [];
    for (const item of dow.split(',')) {
      const [from, to = from] = item.split('-') as [string, string | undefined];
      const a = dayNumber(from);
      const b = dayNumber(to!);
      if (a === undefined || b === undefined || a > b) return shape;
      for (let d = a; d <= b; d++) days.push(d % 7);
    }
  }
  return { minute: Number(hour) * 60 + Number(minute), days: [...new Set(days)].sort((x, y) => x - y) };
}

function dayNumber(text: string): number | undefined {
  if (/^[0-7]$/.test(text)) return Number(text);
  const i = DAY_NAMES.indexOf(text.toUpperCase() as (typeof DAY_NAMES)[number]);
  return i === -1 ? undefined : i;
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return typeof name === 'string' && name.length > 0;
  } catch {
    return false;
  }
}

/** EventBridge Scheduler's expression for the deadlines, to go with `ScheduleExpressionTimezone`. */
export function schedulerExpression(schedule: ScheduleConfig): string {
  const minute = schedule.deadlineMinute % 60;
  const hour = Math.floor(schedule.deadlineMinute / 60);
  if (schedule.days.length === 7) return `cron(${minute} ${hour} * * ? *)`;
  return `cron(${minute} ${hour} ? * ${schedule.days.map((d) => DAY_NAMES[d]).join(',')} *)`;
}

/** The last deadline at or before `now`. */
export function latestDeadline(schedule: ScheduleConfig, now: Date): Date {
  const today = localDate(schedule.timezone, now);
  for (let back = 0; back <= 8; back++) {
    const deadline = deadlineOn(schedule, addDays(today, -back));
    if (deadline && deadline.getTime() <= now.getTime()) return deadline;
  }
  throw new RangeError(`schedule ${schedule.description} has no deadline in the week before ${now.toISOString()}`);
}

/** The deadline before `deadline`: the start of the window `deadline` closes. */
export function previousDeadline(schedule: ScheduleConfig, deadline: Date): Date {
  return latestDeadline(schedule, new Date(deadline.getTime() - 1));
}

/** The first deadline after `now`. */
export function nextDeadline(schedule: ScheduleConfig, now: Date): Date {
  const today = localDate(schedule.timezone, now);
  for (let ahead = 0; ahead <= 8; ahead++) {
    const deadline = deadlineOn(schedule, addDays(today, ahead));
    if (deadline && deadline.getTime() > now.getTime()) return deadline;
  }
  throw new RangeError(`schedule ${schedule.description} has no deadline in the week after ${now.toISOString()}`);
}

interface LocalDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/** The deadline on a local date, or undefined when no deadline falls on that day of the week. */
function deadlineOn(schedule: ScheduleConfig, date: LocalDate): Date | undefined {
  const weekday = new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay();
  if (!schedule.days.includes(weekday)) return undefined;
  return zonedInstant(schedule.timezone, date, schedule.deadlineMinute);
}

function addDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day) + days * DAY_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

const formats = new Map<string, Intl.DateTimeFormat>();
function wallClock(timezone: string, at: number): { date: LocalDate; minute: number; ms: number } {
  let format = formats.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(timezone, format);
  }
  const parts: Record<string, number> = {};
  for (const p of format.formatToParts(new Date(at))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const date = { year: parts.year!, month: parts.month!, day: parts.day! };
  const minute = parts.hour! * 60 + parts.minute!;
  // the wall clock read as if it were UTC: its difference to `at` is the zone's offset
  const ms = Date.UTC(date.year, date.month - 1, date.day, parts.hour, parts.minute, parts.second) + (at % 1000);
  return { date, minute, ms };
}

function localDate(timezone: string, at: Date): LocalDate {
  return wallClock(timezone, at.getTime()).date;
}

/**
 * The instant a local wall-clock time happens in a zone. On a day the clocks go back, a time that
 * happens twice is its first occurrence; on a day they go forward, a time that never happens moves
 * forward by the gap (02:30 in Berlin on the last Sunday of March is 03:30 CEST), as EventBridge
 * Scheduler runs it.
 */
export function zonedInstant(timezone: string, date: LocalDate, minuteOfDay: number): Date {
  const wall = Date.UTC(date.year, date.month - 1, date.day, Math.floor(minuteOfDay / 60), minuteOfDay % 60);
  const offsetAt = (at: number) => wallClock(timezone, at).ms - at;
  // The zone's offsets a day before and after: any transition near this day lies between them.
  const before = wall - offsetAt(wall - DAY_MS);
  const after = wall - offsetAt(wall + DAY_MS);
  const valid = [before, after].filter((t) => wallClock(timezone, t).ms === wall);
  if (valid.length > 0) return new Date(Math.min(...valid));
  return new Date(before); // in the gap: the offset before the change, i.e. later by the gap
}
