import { describe, expect, it } from 'vitest';
import { describeError, ProgressBar } from '../../../platform/cli/progress.js';

describe('ProgressBar', () => {
  it('draws bytes, rows and rows/s on one line at most every 100 ms, and clears it when done', () => {
    const writes: string[] = [];
    const out = { write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
    let now = 1000;
    const bar = new ProgressBar(out, 10 * 1048576, () => now);
    now += 500;
    bar.update({ bytes: 5 * 1048576, rows: 1000 });
    now += 99;
    bar.update({ bytes: 6 * 1048576, rows: 1200 }); // within 100 ms of the last draw: skipped
    now += 1;
    bar.update({ bytes: 7 * 1048576, rows: 1400 });
    bar.done();
    expect(writes).toEqual([
      '\r[###############...............]  50% 5.0/10.0 MiB, 1,000 rows, 2,000 rows/s',
      '\r[#####################.........]  70% 7.0/10.0 MiB, 1,400 rows, 2,333 rows/s',
      '\r\x1b[K',
    ]);
  });
});

describe('describeError', () => {
  it('names key, line, message and code, never the row', () => {
    expect(
      describeError('acme/orders/x.csv', {
        line: 418,
        record: 417,
        code: 'SCHEMA_VIOLATION',
        message: '/amount must be number',
        field: '/amount',
      }),
    ).toBe('acme/orders/x.csv line 418: /amount must be number [SCHEMA_VIOLATION]');
    expect(describeError('k', { code: 'EMPTY_FILE', message: 'the file is empty (0 bytes)' })).toBe(
      'k: the file is empty (0 bytes) [EMPTY_FILE]',
    );
  });
});
