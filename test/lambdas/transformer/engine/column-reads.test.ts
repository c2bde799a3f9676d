import { describe, expect, it } from 'vitest';
import { findColumnReads, findMappingColumnReads } from '../../../../lambdas/transformer/engine/column-reads.js';

const columns = (expression: string) => findColumnReads(expression).reads.map((r) => r.column);

describe('the columns an expression reads', () => {
  it.each([
    ['order_id', ['order_id']],
    ['`Total (EUR)`', ['Total (EUR)']],
    ['$number(amount)', ['amount']],
    ['customer.email', ['customer']],
    ['a[x = 1].c', ['a']],
    ['$.foo', ['foo']],
    ['$$.foo.bar', ['foo']],
    ['a[$$.b = c]', ['a', 'b']],
    ['$source.key & $source.line', []],
    ['tags ? $split(tags, ";") : []', ['tags', 'tags']],
    ['($x := a; $x & b)', ['a', 'b']],
    ['$map(arr, function($v) { $v & c })', ['arr', 'c']],
    ['a^(b)', ['a']],
    ['a{b: c}', ['a']],
    ['{"k": x, "n": {"m": y}}', ['x', 'y']],
    ['[a, b][0]', ['a', 'b']],
    ['(a)[b]', ['a']],
    ['a ~> $substringBefore(b)', ['a', 'b']],
    ['-n', ['n']],
    ['$lookup($, "Total (EUR)")', ['Total (EUR)']],
    ['"quoted name".x', ['quoted name']],
    ['$exists(Bemerkung) ? Bemerkung : "-"', ['Bemerkung', 'Bemerkung']],
    ['| a | {"b": c} |', []],
    ['"literal" & 1 & true & null & /re/', []],
  ])('%s reads %j', (expression, expected) => {
    expect(columns(expression)).toEqual(expected);
  });

  it.each([
    ['$keys($)', true],
    ['$string($$)', true],
    ['*', true],
    ['$.*', true],
    ['**.x', true],
    ['$lookup($, name)', true],
    ['$number(amount)', false],
    ['a.*', false],
  ])('%s reads the row as a whole: %s', (expression, wholeRow) => {
    expect(findColumnReads(expression).wholeRow).toBe(wholeRow);
  });

  it('gives the offset of each name in the expression, backticks and quotes included', () => {
    expect(findColumnReads('$number(`Total (EUR)`) + amount').reads).toEqual([
      { column: 'Total (EUR)', offset: 8 },
      { column: 'amount', offset: 25 },
    ]);
    expect(findColumnReads('(\n  $x := a;\n  b\n)').reads).toEqual([
      { column: 'a', offset: 10 },
      { column: 'b', offset: 15 },
    ]);
  });

  it('lists the columns of a whole mapping once each, in order of first appearance', () => {
    const mapping = {
      kind: 'fields' as const,
      fields: [
        { name: 'a', path: ['a'], expression: 'b & a' },
        { name: 'c', path: ['c'], expression: '$keys($)' },
        { name: 'd', path: ['d'], expression: 'a & d' },
      ],
    };
    expect(findMappingColumnReads(mapping)).toEqual({ columns: ['b', 'a', 'd'], wholeRow: true });
  });
});
