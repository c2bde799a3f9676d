import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import {
  checkLinearRegex,
  jsonataRegexEngine,
  LinearRegexError,
  LinearRegExp,
} from '../../../../lambdas/transformer/engine/linear-regex.js';
import { compileExpression, compileMapping, ExpressionSyntaxError } from '../../../../lambdas/transformer/engine/mapping.js';
import { compileValidator } from '../../../../lambdas/transformer/engine/schema.js';
import { makeFeed, runEngine } from '../../../support/engine.js';

/**
 * Native backtracking needs 2^n steps on this input: 31 characters held a row for 65 s; 40 would take
 * hours. No test here times itself (the machine may be busy): a backtracking engine would never end,
 * and the test would fail at its timeout.
 */
const CATASTROPHIC_INPUT = `${'a'.repeat(40)}!`;

/** Every exec of a global pattern over a string, as JSONata walks it. */
function execAll(re: { exec(s: string): RegExpExecArray | null; lastIndex: number }, input: string): unknown[] {
  const out: unknown[] = [];
  re.lastIndex = 0;
  for (let m = re.exec(input); m !== null && out.length < 50; m = re.exec(input)) {
    out.push({ found: [...m], index: m.index, groups: m.groups ? { ...m.groups } : undefined, lastIndex: re.lastIndex });
    if (m[0] === '') re.lastIndex++;
  }
  return out;
}

describe('LinearRegExp', () => {
  it('matches as a native RegExp does, groups, indexes and lastIndex included, on patterns both engines read alike', () => {
    const patterns: [string, string][] = [
      ['[a-c]+', 'g'],
      ['(a|b)*c', 'g'],
      ['^(\\d{2,4})-(\\w+)$', 'gm'],
      ['(?<year>\\d{4})-(?<month>\\d\\d)?', 'g'],
      ['B(x)?', 'gi'],
      ['\\bab', 'g'],
      ['a*', 'g'],
      ['[^a]', ''],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...patterns), fc.stringMatching(/^[abcxB0-9\-\n ]{0,20}$/), ([source, flags], input) => {
        expect(execAll(new LinearRegExp(source, flags), input)).toEqual(execAll(new RegExp(source, flags), input));
        expect(new LinearRegExp(source, flags).test(input)).toBe(new RegExp(source, flags).test(input));
      }),
      { numRuns: 300 },
    );
  });

  it('takes a RegExp as JSONata passes its literals, flags included', () => {
    const re = new LinearRegExp(/AB/gi);
    expect(re.flags).toBe('gi');
    expect(re.exec('xxab')?.index).toBe(2);
    expect(re.lastIndex).toBe(4);
  });

  it('counts indexes in UTF-16 code units, as strings do', () => {
    const m = new LinearRegExp('é').exec('😀é');
    expect(m?.index).toBe(2);
  });

  it.each([
    ['(a)\\1', 'the backreference \\1'],
    ['(?<x>a)\\k<x>', 'the named backreference \\k<x>'],
    ['a(?=b)', 'the lookahead (?='],
    ['a(?!b)', 'the negative lookahead (?!'],
    ['(?<=a)b', 'the lookbehind (?<='],
    ['(?<!a)b', 'the negative lookbehind (?<!'],
  ])('refuses %s, naming %s', (source, feature) => {
    expect(() => new LinearRegExp(source)).toThrow(LinearRegexError);
    expect(checkLinearRegex(source)).toContain(`uses ${feature}, which cannot run in linear time`);
  });

  it('reads escaped and bracketed look-alikes as the literals they are', () => {
    for (const source of ['\\(?=x', '[(?=]', '\\\\1']) expect(checkLinearRegex(source)).toBeUndefined();
  });

  it('refuses what is not a JavaScript regex, and flags it does not support', () => {
    expect(checkLinearRegex('(?i)abc')).toContain('is not a valid regular expression');
    expect(checkLinearRegex('a', 'y')).toContain('flags other than');
  });

  it('answers the catastrophic pattern without backtracking', () => {
    expect(new LinearRegExp('^(a+)+$').test(CATASTROPHIC_INPUT)).toBe(false);
    expect(new LinearRegExp('^(a|aa)+$', 'g').exec(CATASTROPHIC_INPUT)).toBeNull();
  });
});

describe('regexes in mappings', () => {
  it('run on the linear-time engine: a dot matches U+2028 there, never natively', async () => {
    // The one observable difference proves which engine JSONata ran.
    const expr = '$contains(s, /^.$/)';
    expect(await compileExpression(expr).evaluate({ s: '\u2028' })).toBe(true);
    expect(await jsonata(expr).evaluate({ s: '\u2028' })).toBe(false);
    expect(await jsonata(expr, { RegexEngine: jsonataRegexEngine }).evaluate({ s: '\u2028' })).toBe(true);
  });

  it('$match, $replace, $split and $contains give JSONata results on the linear-time engine', async () => {
    const run = (expr: string, input: unknown) => compileExpression(expr).evaluate(input);
    expect(Array.from((await run('$match(s, /(\\d+)-(\\w)?/)', { s: 'a 12-x 3-' })) as unknown[])).toEqual([
      { match: '12-x', index: 2, groups: ['12', 'x'] },
      { match: '3-', index: 7, groups: ['3', undefined] },
    ]);
    expect(await run('$replace(s, /(\\w+)@(\\w+)/, "$2 at $1")', { s: 'jo@ex, al@ey' })).toBe('ex at jo, ey at al');
    expect(await run('$split(s, /[,;] */)', { s: 'a, b;c' })).toEqual(['a', 'b', 'c']);
    expect(await run('$contains(s, /^AB/i)', { s: 'abc' })).toBe(true);
  });

  it('a catastrophic $match over a file of rows ends each row at once', async () => {
    const feed = makeFeed({
      mapping: { kind: 'fields', fields: [{ name: 'm', path: ['m'], expression: '$exists($match(name, /^(a+)+$/))' }] },
    });
    const rows = 20;
    const run = await runEngine(feed, `name\n${`${CATASTROPHIC_INPUT}\n`.repeat(rows)}`);
    expect(run.outcome).toMatchObject({ status: 'SUCCEEDED', rowsIn: rows, rowsOut: rows });
    expect(run.records[0]).toEqual({ m: false });
  });

  it('refuses a regex literal the engine cannot run, at the position of its opening slash', () => {
    const expr = '(\n  $x := 1;\n  $match(name, /(a)\\1/i)\n)';
    let caught: unknown;
    try {
      compileExpression(expr);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ExpressionSyntaxError);
    const e = caught as ExpressionSyntaxError;
    expect(e.message).toContain('the backreference \\1');
    expect(expr[e.position! - 1]).toBe('/');
    expect(expr.slice(e.position! - 1)).toMatch(/^\/\(a\)\\1\/i\)/);
  });

  it('keeps regexes out of compiled mappings only where they are used', async () => {
    const mapping = compileMapping({ kind: 'fields', fields: [{ name: 'x', path: ['x'], expression: '$replace(s, /a+/, "-")' }] });
    const source = { partner: 'p', feed: 'f', key: 'k', line: 2, record: 1 };
    expect(await mapping.map({ s: 'baaab' }, source)).toEqual({ x: 'b-b' });
  });
});

const SUITE = join(import.meta.dirname, '../../../conformance/jsonata');

/** The cases of JSONata's own suite whose expression parses and holds a regex literal. */
function regexCases(): { name: string; expr: string; data: unknown; bindings?: Record<string, unknown> }[] {
  const cases = [];
  for (const group of readdirSync(join(SUITE, 'groups')).sort()) {
    for (const file of readdirSync(join(SUITE, 'groups', group)).filter((f) => f.endsWith('.json'))) {
      const parsed = JSON.parse(readFileSync(join(SUITE, 'groups', group, file), 'utf8')) as
        Record<string, unknown> | Record<string, unknown>[];
      for (const c of [parsed].flat()) {
        const exprFile = c['expr-file'] as string | undefined;
        const expr = exprFile ? readFileSync(join(SUITE, 'groups', group, exprFile), 'utf8') : (c.expr as string | undefined);
        if (!expr || !expr.includes('/')) continue;
        let ast: unknown;
        try {
          ast = jsonata(expr).ast();
        } catch {
          continue;
        }
        if (!JSON.stringify(ast, (_k, v: unknown) => (v instanceof RegExp ? '\u0000regex' : v)).includes('\\u0000regex')) continue;
        const dataset = c.dataset as string | undefined;
        const data = c.data ?? (dataset ? JSON.parse(readFileSync(join(SUITE, 'datasets', `${dataset}.json`), 'utf8')) : undefined);
        cases.push({ name: `${group}/${file}`, expr, data, bindings: c.bindings as Record<string, unknown> | undefined });
      }
    }
  }
  return cases;
}

describe("JSONata's own suite", () => {
  const cases = regexCases();

  it('has the regex cases this check relies on', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it('every case with a regex literal gives the same result, or the same error, on both engines', async () => {
    const outcome = async (expr: string, c: (typeof cases)[number], options?: jsonata.JsonataOptions) => {
      try {
        return { value: await jsonata(expr, options).evaluate(structuredClone(c.data), c.bindings) };
      } catch (err) {
        return { code: (err as { code?: string }).code };
      }
    };
    for (const c of cases) {
      const linear = await outcome(c.expr, c, { RegexEngine: jsonataRegexEngine });
      expect({ case: c.name, ...linear }).toEqual({ case: c.name, ...(await outcome(c.expr, c)) });
    }
  });
});

describe('regexes in schemas', () => {
  it('a catastrophic `pattern` rejects rows at once', async () => {
    const schema = { type: 'object', properties: { name: { type: 'string', pattern: '^(a+)+$' } } };
    const validate = compileValidator(schema);
    for (let i = 0; i < 20; i++) expect(validate({ name: CATASTROPHIC_INPUT })).toMatchObject({ field: '/name' });
    expect(validate({ name: 'aaa' })).toBeUndefined();
    const feed = makeFeed({ schema });
    const run = await runEngine(feed, `name\n${`${CATASTROPHIC_INPUT}\n`.repeat(20)}aaa\n`);
    expect(run.outcome).toMatchObject({ status: 'PARTIAL', rowsIn: 21, rowsOut: 1, rowsRejected: 20 });
  });

  it('patternProperties keys run on the linear-time engine too', () => {
    const validate = compileValidator({ type: 'object', patternProperties: { '^x.$': { type: 'number' } } });
    // '\u2028' is a character to RE2's dot, not to a native one: the key is checked, so it fails.
    expect(validate({ 'x\u2028': 'nope' })).toMatchObject({ field: '/x\u2028' });
  });

  it('refuses a schema whose pattern the engine cannot run', () => {
    expect(() => compileValidator({ type: 'string', pattern: '(?<=a)b' })).toThrow(LinearRegexError);
  });
});
