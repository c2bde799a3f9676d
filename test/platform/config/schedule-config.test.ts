import { describe, expect, it } from 'vitest';
import { listFeeds } from '../../../lambdas/transformer/model.js';
import { loadPlatformConfig } from '../../../platform/config/load-config.js';
import { formatProblem } from '../../../platform/config/problems.js';
import { makeConfigRoot, validFiles, VALID_PARTNER } from '../../support/config-root.js';

const withSchedule = (yaml: string) =>
  makeConfigRoot({
    ...validFiles(),
    'partners/acme.yaml': VALID_PARTNER.replace('output:\n      dataset: orders\n', `output:\n      dataset: orders\n${yaml}`),
  });

describe('schedule in a partner file', () => {
  it('loads every/by/timezone into the feed', () => {
    const { config, problems } = loadPlatformConfig(
      withSchedule('    schedule:\n      every: weekday\n      by: "06:00"\n      timezone: Europe/Berlin\n'),
    );
    expect(problems).toEqual([]);
    expect(listFeeds(config)[0]!.schedule).toEqual({
      timezone: 'Europe/Berlin',
      deadlineMinute: 360,
      days: [1, 2, 3, 4, 5],
      description: 'every weekday by 06:00 (Europe/Berlin)',
    });
  });

  it('reports every problem of a schedule at its line and column, with the value', () => {
    const { problems } = loadPlatformConfig(
      withSchedule('    schedule:\n      cron: "0 6 1 * *"\n      grace: two hours\n      timezone: Europe/Berlinn\n'),
    );
    expect(problems.map(formatProblem)).toEqual([
      'partners/acme.yaml:17:13: cron takes "M H * * DOW": one minute, one hour, * for day of month and month, and * or days of the week (1-5, MON-FRI, SAT,SUN) ("0 6 1 * *")',
      'partners/acme.yaml:18:14: grace is a duration such as 30m, 2h or 1h30m, at most 48h ("two hours")',
      'partners/acme.yaml:19:17: timezone must be an IANA time zone name such as Europe/Berlin or UTC ("Europe/Berlinn")',
    ]);
    expect(
      loadPlatformConfig(withSchedule('    schedule:\n      every: day\n      by: "06:00"\n      color: red\n')).problems.map(
        formatProblem,
      ),
    ).toEqual([
      'partners/acme.yaml:19:7: unknown key "color" in feeds[0].schedule; allowed here: every, by, cron, grace, timezone ("color")',
    ]);
  });
});
