import fc from 'fast-check';
import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { deterministicRegExp, testDeterministic } from '../../../../lambdas/transformer/engine/deterministic-regex.js';
import { LinearRegExp } from '../../../../lambdas/transformer/engine/linear-regex.js';

/** The reference: the pattern on RE2, as `LinearRegExp` runs it without the native fast path. */
const re2 = (source: string) => RE2JS.compile(RE2JS.translateRegExp(source), 0);

const ATOMS = ['a', 'b', '-', '@', ' ', 'é', '😀', '.', '\\.', '\\d', '\\D', '\\w', '\\W', '\\s', '\\S', '\\t', '\\$', '\\/'];
const CLASSES = ['[a-c]', '[^@ ]', '[0-9]', '[A-Z]', '[^a]', '[-a]', '[a-]', '[\\d.]', '[^\\s@]', '[é-😀]', '[\\]x]', '[\\-_]'];
const QUANTIFIERS = ['', '', '*', '+', '?', '{2}', '{1,3}', '{2,}', '{0,1}'];
const ALPHABET = [
  'a',
  'b',
  'c',
  'x',
  '@',
  ' ',
  '.',
  '-',
  '_',
  '0',
  '5',
  'A',
  'Z',
  'é',
  '😀',
  '\n',
  '\t',
  '\r',
  '\v',
  '\f',
  '$',
  '/',
  ']',
  '\ud800',
];

const patternArb = fc
  .tuple(
    fc.array(fc.tuple(fc.constantFrom(...ATOMS, ...CLASSES), fc.constantFrom(...QUANTIFIERS)), { minLength: 1, maxLength: 5 }),
    fc.boolean(),
  )
  .map(([atoms, end]) => `^${atoms.map(([a, q]) => a + q).join('')}${end ? '$' : ''}`);
const inputArb = fc.array(fc.constantFrom(...ALPHABET), { maxLength: 12 }).map((cs) => cs.join(''));

describe('deterministicRegExp', () => {
  it('gives RE2 its own answer on every pattern it accepts (differential, RE2 the reference)', () => {
    let accepted = 0;
    let matched = 0;
    fc.assert(
      fc.property(patternArb, fc.array(inputArb, { minLength: 1, maxLength: 8 }), (source, inputs) => {
        const native = deterministicRegExp(source, 'u');
        if (!native) return;
        accepted++;
        const reference = re2(source);
        for (const input of inputs) {
          if (reference.test(input)) matched++;
          expect(testDeterministic(native, input) ?? reference.test(input), `${source} on ${JSON.stringify(input)}`).toBe(
            reference.test(input),
          );
        }
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(500);
    expect(matched).toBeGreaterThan(100); // not only refusals compared
  });

  it('matches what the pattern describes, as RE2 does, on inputs made to match', () => {
    const cases: [string, string[], string[]][] = [
      ['^ORD-[0-9]{8}$', ['ORD-00000001'], ['ORD-0000001', 'ORD-000000012', 'ord-00000001', 'ORD-0000000١']],
      ['^[A-Z]{2}$', ['DE'], ['de', 'DEU', 'D']],
      ['^[^@ ]+@[^@ ]+$', ['a@b', 'Ann.1@Example.COM', 'ü@😀'], ['a@b@c', '@b', 'a b@c', 'a@']],
      ['^C[0-9]+$', ['C1', 'C0123'], ['C', 'C1a']],
      ['^a.c$', ['abc', 'a😀c', 'a\rc'], ['a\nc', 'ac']],
      ['^\\s$', [' ', '\t', '\f'], ['\u00a0', '\u2028', '\v']],
      ['^a?b', ['b', 'abX'], ['aab']],
    ];
    for (const [source, yes, no] of cases) {
      const native = deterministicRegExp(source, 'u');
      expect(native, source).toBeDefined();
      for (const input of [...yes, ...no])
        expect(testDeterministic(native!, input), `${source} on ${JSON.stringify(input)}`).toBe(re2(source).test(input));
      for (const input of yes) expect(testDeterministic(native!, input)).toBe(true);
      for (const input of no) expect(testDeterministic(native!, input)).toBe(false);
    }
  });

  it('leaves to RE2 every pattern whose native backtracking could grow beyond linear, and what it does not read', () => {
    for (const source of [
      '^(a+)+$', // groups
      '^a*a$', // a repeat followed by its own characters
      '^[a-z]+[a-c]$',
      '^\\w+\\s*\\w+$', // the optional \s* does not separate \w+ from \w+
      '^a+b?a$',
      '[0-9]+$', // not anchored at the start: every start position would be tried
      '^a+?$', // lazy
      '^(?:ab)$',
      '^a|b$',
      '^\\bfoo$',
      '^\\u0041$',
      '^[[:alpha:]]$',
      '^[]$',
      '^[^]$',
      '^a{2,1}$',
      '^a{1001}$',
      '^a$b',
      '^\ud800$',
    ]) {
      expect(deterministicRegExp(source, 'u'), source).toBeUndefined();
    }
    expect(deterministicRegExp('^a+$', 'i')).toBeUndefined();
    expect(deterministicRegExp('^a+$', 'm')).toBeUndefined();
    expect(deterministicRegExp('^a+$', '')).toBeDefined();
  });

  it('leaves an input with a lone surrogate to RE2', () => {
    expect(testDeterministic(deterministicRegExp('^.+$', 'u')!, 'a\ud800')).toBeUndefined();
    expect(new LinearRegExp('^.+$', 'u').test('a\ud800')).toBe(re2('^.+$').test('a\ud800'));
  });

  it('runs under LinearRegExp.test for the patterns Ajv compiles, with RE2 behind the rest', () => {
    for (const [source, input] of [
      ['^[^@ ]+@[^@ ]+$', 'x@y'],
      ['^(a+)+$', `${'a'.repeat(40)}!`],
      ['^[a-z]+[a-c]$', 'xyzb'],
    ] as const) {
      expect(new LinearRegExp(source, 'u').test(input), source).toBe(re2(source).test(input));
    }
  });
});
