import { describe, expect, it } from 'vitest';
import { lineDiff, recordDifferences } from '../../../platform/config/golden-diff.js';

const b = (text: string) => Buffer.from(text, 'utf8');

describe('field-level differences', () => {
  it('walks nested objects and arrays with JSON pointers', () => {
    const expected = b('{"a":{"b/c":1,"d":[1,2]},"e":"x"}\n');
    const actual = b('{"a":{"b/c":2,"d":[1]},"e":"x"}\n');
    expect(recordDifferences(expected, actual, 'ndjson')).toEqual([
      'record 1 (line 1) /a/b~1c: expected 1, got 2',
      'record 1 (line 1) /a/d/1: expected 2, got no field',
    ]);
  });

  it('reads the json format as one array of records', () => {
    expect(recordDifferences(b('[{"a":1},{"a":2}]'), b('[{"a":1},{"a":3}]'), 'json')).toEqual(['record 2 /a: expected 2, got 3']);
  });

  it('lists at most 20 differences and counts the rest', () => {
    const lines = (n: number) => Array.from({ length: 30 }, (_, i) => `{"a":${i * n}}`).join('\n');
    const out = recordDifferences(b(lines(1)), b(lines(2)), 'ndjson');
    expect(out).toHaveLength(21);
    expect(out[20]).toBe('... and 9 more field differences');
  });

  it('says when values are equal and only the writing differs', () => {
    expect(recordDifferences(b('{"a": 1}\n'), b('{"a":1}\n'), 'ndjson')).toEqual([
      'record 1 (line 1): the same values written differently (spacing, escapes or number format)',
    ]);
  });
});

describe('line diff', () => {
  it('is empty for equal texts and shows changed lines with context and hunk headers', () => {
    expect(lineDiff('a\nb\n', 'a\nb\n')).toEqual([]);
    expect(lineDiff('1\n2\n3\n4\n5\n6\n7\n8\n', '1\n2\n3\nfour\n5\n6\n7\n8\n')).toEqual([
      '@@ -2,5 +2,5 @@',
      ' 2',
      ' 3',
      '-4',
      '+four',
      ' 5',
      ' 6',
    ]);
  });

  it('shows a new file as added lines and a removed file as removed lines', () => {
    expect(lineDiff('', 'x\ny\n')).toEqual(['@@ -0,0 +1,2 @@', '+x', '+y']);
    expect(lineDiff('x\n', '')).toEqual(['@@ -1,1 +0,0 @@', '-x']);
  });

  it('makes a missing final newline and a CR visible', () => {
    expect(lineDiff('a\r\nb', 'a\nb\n')).toEqual(['@@ -1,2 +1,2 @@', '-a\\r', '-b (no newline at the end)', '+a', '+b']);
  });
});
