import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CHAOS, printChaosReport, runChaos } from '../../../platform/local/chaos.js';

const REPO = join(import.meta.dirname, '../../..');

describe('chaos, a small configuration (npm run chaos runs the full one)', () => {
  it('every version ends in exactly one final status, with exactly the fault-free output, through crashes, throttling and a SIGKILL', async () => {
    const lines: string[] = [];
    const report = await runChaos({
      ...DEFAULT_CHAOS,
      root: REPO,
      files: 60,
      kills: 1,
      seed: 7,
      // only a safety net: a lost final status fails the run once its queues drain, so a busy machine only makes it slower
      timeoutSeconds: 600,
      log: (l) => lines.push(l),
    });
    printChaosReport(report, (l) => lines.push(l));
    expect(report.violations, lines.join('\n')).toEqual([]);
    expect(report.kills).toBe(1);
    expect(Object.values(report.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(report.deadLetters).toBeGreaterThan(0);
    // every version but a DUPLICATE has exactly one event id, and redeliveries outnumber versions
    expect(report.events.distinct).toBe(report.versions - (report.statuses.DUPLICATE ?? 0));
    expect(report.received).toBeGreaterThanOrEqual(report.attempts);
    expect(report.attempts).toBeGreaterThan(report.versions);
  }, 700_000);
});
