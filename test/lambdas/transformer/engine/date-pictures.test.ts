import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoUtc } from '../../../../lambdas/transformer/engine/date-pictures.js';

const FIRST = -62_167_219_200_000; // 0000-01-01T00:00:00.000Z
const LAST = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

describe('isoUtc', () => {
  it("writes what Date's toISOString writes, across years 0 to 9999 (differential)", () => {
    fc.assert(
      fc.property(fc.integer({ min: FIRST, max: LAST }), (millis) => {
        expect(isoUtc(millis)).toBe(new Date(millis).toISOString());
      }),
      { numRuns: 20_000 },
    );
  });

  it('gets the edges right: the range ends, the epoch, leap days, century years, day and second boundaries', () => {
    const edges = [
      FIRST,
      LAST,
      0,
      -1,
      1,
      999,
      1000,
      Date.UTC(2024, 1, 29),
      Date.UTC(2000, 1, 29, 23, 59, 59, 999),
      Date.UTC(1900, 2, 1) - 1,
    ];
    for (const year of [0, 1, 4, 99, 100, 400, 999, 1000, 1582, 1899, 1900, 1969, 1970, 2000, 2100, 9999]) {
      const d = new Date(0); // setUTCFullYear, as Date.UTC reads years 0-99 as 1900-1999
      d.setUTCFullYear(year, 0, 1);
      edges.push(d.getTime(), d.getTime() - 1, d.getTime() + 59 * 86_400_000, d.getTime() + 60 * 86_400_000 - 1);
    }
    for (const millis of edges.filter((m) => m >= FIRST && m <= LAST))
      expect(isoUtc(millis), String(millis)).toBe(new Date(millis).toISOString());
  });
});
