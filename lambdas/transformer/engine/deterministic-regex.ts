/**
 * A native `RegExp` for the patterns whose backtracking is provably linear, so that the schema
 * patterns partners write (`^ORD-[0-9]{8}$`, `^[A-Z]{2}$`, `^[^@ ]+@[^@ ]+$`) skip RE2's slower
 * simulation (re2js was a quarter of the per-row CPU time of a mapping with two patterns).
 *
 * Accepted: `^`, then a flat sequence of single-character atoms (a literal, `.`, `\d \D \w \W \s \S`,
 * an escaped syntax character, `\t \n \r \f \v`, a bracket class of those and ranges), each with an
 * optional greedy quantifier (`* + ? {n} {n,} {n,m}`), then an optional `$`; no flags but `u`.
 * Everything else (groups, alternation, lazy quantifiers, other escapes) is left to RE2.
 *
 * Why it is linear: a repeated atom is accepted only when its characters are disjoint from every
 * character that can come next (the following atoms up to the first one that must match once).
 * A greedy run then ends where the rest must start; giving back a character puts one of the
 * atom's own characters where the rest starts, which fails at once. So each atom backtracks at
 * most its run length, with one check per atom per step, and the sticky flag tries position 0
 * only: O(pattern length x input length).
 *
 * Meaning is RE2's, not the native engine's: every atom is rendered as an explicit code point
 * class (`.` is anything but `\n`, `\s` is `[\t\n\f\r ]`), matched with the `u` flag, by code
 * point as RE2 does. Inputs with a lone surrogate are left to RE2.
 */

/** Sorted, disjoint, non-adjacent inclusive code point ranges. */
type CharSet = readonly (readonly [number, number])[];

interface Atom {
  readonly set: CharSet;
  readonly min: number;
  /** `Infinity` for an unbounded repeat. */
  readonly max: number;
}

const MAX_CODE_POINT = 0x10ffff;
const DIGIT: CharSet = [[0x30, 0x39]];
const WORD: CharSet = normalize([
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
]);
const SPACE: CharSet = normalize([
  [0x09, 0x0a],
  [0x0c, 0x0d],
  [0x20, 0x20],
]);
const CLASS_ESCAPES: Record<string, CharSet> = {
  d: DIGIT,
  D: complement(DIGIT),
  w: WORD,
  W: complement(WORD),
  s: SPACE,
  S: complement(SPACE),
};
const CONTROL_ESCAPES: Record<string, number> = { t: 0x09, n: 0x0a, v: 0x0b, f: 0x0c, r: 0x0d };
const SYNTAX_CHARACTERS = '^$\\.*+?()[]{}|/';
/** The largest repeat count accepted (RE2 refuses more than 1000). */
const MAX_REPEAT = 1000;

/**
 * A sticky native `RegExp` with RE2's meaning for `source`, when its backtracking is provably
 * linear; else `undefined`. Use it through `testDeterministic`, which resets `lastIndex`.
 */
export function deterministicRegExp(source: string, flags: string): RegExp | undefined {
  if (flags !== '' && flags !== 'u') return undefined;
  if (!isWellFormed(source)) return undefined;
  const parsed = parse(source);
  if (!parsed || !linear(parsed.atoms)) return undefined;
  const body = parsed.atoms.map((a) => renderSet(a.set) + renderQuantifier(a)).join('');
  return new RegExp(`^${body}${parsed.anchoredEnd ? '$' : ''}`, 'uy');
}

/** `regExp.test(input)` from position 0; `undefined` where the input has a lone surrogate (RE2 decides). */
export function testDeterministic(regExp: RegExp, input: string): boolean | undefined {
  if (!isWellFormed(input)) return undefined;
  regExp.lastIndex = 0;
  return regExp.test(input);
}

/** `String.prototype.isWellFormed` (ES2024; every Node version the package supports has it): no lone surrogate. */
const isWellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

function parse(source: string): { atoms: Atom[]; anchoredEnd: boolean } | undefined {
  if (source[0] !== '^') return undefined;
  const atoms: Atom[] = [];
  let i = 1;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '$') {
      return i === source.length - 1 ? { atoms, anchoredEnd: true } : undefined;
    }
    let set: CharSet | undefined;
    if (c === '.') {
      set = complement([[0x0a, 0x0a]]);
      i++;
    } else if (c === '[') {
      const cls = parseClass(source, i + 1);
      if (!cls) return undefined;
      set = cls.set;
      i = cls.end;
    } else if (c === '\\') {
      const escape = parseEscape(source, i + 1);
      if (!escape) return undefined;
      set = escape.set;
      i = escape.end;
    } else if ('^*+?(){}[]|'.includes(c)) {
      return undefined;
    } else {
      const cp = source.codePointAt(i)!;
      set = [[cp, cp]];
      i += cp > 0xffff ? 2 : 1;
    }
    const quantifier = parseQuantifier(source, i);
    if (!quantifier) return undefined;
    atoms.push({ set, min: quantifier.min, max: quantifier.max });
    i = quantifier.end;
  }
  return { atoms, anchoredEnd: false };
}

/** An escape outside or inside a class: a class escape, a control character or an escaped syntax character. */
function parseEscape(source: string, at: number, inClass = false): { set: CharSet; single?: number; end: number } | undefined {
  const c = source[at];
  if (c === undefined) return undefined;
  const cls = CLASS_ESCAPES[c];
  if (cls) return { set: cls, end: at + 1 };
  const control = CONTROL_ESCAPES[c];
  const cp = control ?? (SYNTAX_CHARACTERS.includes(c) || (inClass && c === '-') ? c.charCodeAt(0) : undefined);
  if (cp === undefined) return undefined;
  return { set: [[cp, cp]], single: cp, end: at + 1 };
}

/** A bracket class from just after `[` to just after its `]`. */
function parseClass(source: string, at: number): { set: CharSet; end: number } | undefined {
  let i = at;
  const negated = source[i] === '^';
  if (negated) i++;
  const ranges: [number, number][] = [];
  /** One class member: a single code point (may start a range) or a class escape. */
  const member = (): { set: CharSet; single?: number } | undefined => {
    const c = source[i];
    if (c === undefined || c === '[' || c === ']') return undefined;
    if (c === '\\') {
      const escape = parseEscape(source, i + 1, true);
      if (!escape) return undefined;
      i = escape.end;
      return escape;
    }
    const cp = source.codePointAt(i)!;
    i += cp > 0xffff ? 2 : 1;
    return { set: [[cp, cp]], single: cp };
  };
  if (source[i] === ']') return undefined; // `[]` and `[^]`
  while (source[i] !== ']') {
    if (i >= source.length) return undefined;
    if (source[i] === '-' && i !== at + (negated ? 1 : 0) && source[i + 1] !== ']') return undefined; // `[a-b-c]`, `[\d-z]`
    const first = member();
    if (!first) return undefined;
    if (source[i] === '-' && source[i + 1] !== ']') {
      i++;
      const last = member();
      if (first.single === undefined || last?.single === undefined || last.single < first.single) return undefined;
      ranges.push([first.single, last.single]);
    } else {
      ranges.push(...first.set.map(([lo, hi]): [number, number] => [lo, hi]));
    }
  }
  const set = normalize(ranges);
  return { set: negated ? complement(set) : set, end: i + 1 };
}

function parseQuantifier(source: string, at: number): { min: number; max: number; end: number } | undefined {
  let min = 1;
  let max = 1;
  let end = at;
  const c = source[at];
  if (c === '*' || c === '+' || c === '?') {
    [min, max] = c === '*' ? [0, Infinity] : c === '+' ? [1, Infinity] : [0, 1];
    end = at + 1;
  } else if (c === '{') {
    const m = /^\{(\d{1,4})(,(\d{0,4}))?\}/.exec(source.slice(at, at + 12));
    if (!m) return undefined;
    min = Number(m[1]);
    max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    if (min > MAX_REPEAT || (max !== Infinity && (max > MAX_REPEAT || max < min))) return undefined;
    end = at + m[0].length;
  }
  const next = source[end];
  if (next === '?' || next === '*' || next === '+' || next === '{') return undefined; // lazy, or a repeat of a repeat
  return { min, max, end };
}

/** Each repeated atom's characters are disjoint from whatever may follow it. */
function linear(atoms: readonly Atom[]): boolean {
  for (let i = 0; i < atoms.length; i++) {
    if (atoms[i]!.min === atoms[i]!.max) continue;
    for (let j = i + 1; j < atoms.length; j++) {
      if (intersects(atoms[i]!.set, atoms[j]!.set)) return false;
      if (atoms[j]!.min > 0) break;
    }
  }
  return true;
}

function normalize(ranges: readonly (readonly [number, number])[]): CharSet {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function complement(set: CharSet): CharSet {
  const out: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of set) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

function intersects(a: CharSet, b: CharSet): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i]![1] < b[j]![0]) i++;
    else if (b[j]![1] < a[i]![0]) j++;
    else return true;
  }
  return false;
}

function renderSet(set: CharSet): string {
  const cp = (n: number) => `\\u{${n.toString(16)}}`;
  return `[${set.map(([lo, hi]) => (lo === hi ? cp(lo) : `${cp(lo)}-${cp(hi)}`)).join('')}]`;
}

function renderQuantifier(atom: Atom): string {
  if (atom.min === 1 && atom.max === 1) return '';
  return `{${atom.min},${atom.max === Infinity ? '' : atom.max}}`;
}
