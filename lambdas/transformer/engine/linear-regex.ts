/**
 * Every regular expression that a partner's config brings (JSONata regex literals, JSON Schema
 * `pattern` and `patternProperties`) runs on RE2 (the `re2js` port): matching takes time linear in
 * the input, so no pattern can hold a row. A native `RegExp` backtracks: `/^(a+)+$/` on 31
 * characters held one row for 65 s, and the JSONata timeout cannot interrupt it.
 *
 * Patterns are written in JavaScript syntax (what JSONata and JSON Schema specify) and translated.
 * Features that need backtracking, backreferences (`\1`, `\k<name>`) and lookaround (`(?=`, `(?!`,
 * `(?<=`, `(?<!`), are refused with a `LinearRegexError` at config validation. Known differences
 * from a native `RegExp`, all in RE2's favour of one meaning per pattern: `.` matches any character
 * but `\n` (a native `.` also stops at `\r`, U+2028 and U+2029); `\s` is ASCII whitespace
 * `[\t\n\f\r ]`; `.` and classes match whole code points; case folding under `i` is Unicode's.
 *
 * The API, for whoever runs a pattern:
 * - `new LinearRegExp(pattern, flags)` (or `new LinearRegExp(regExp)`): the RegExp-shaped object
 *   JSONata's `RegexEngine` option takes; `exec` and `test` follow `RegExp` with `lastIndex` under `g`.
 * - `jsonataRegexEngine`: that class typed for `jsonata(expr, { RegexEngine })`.
 * - `ajvRegExp`: Ajv's `code.regExp` option.
 * - `checkLinearRegex(source, flags)`: the refusal message for a pattern, or `undefined` when it runs.
 * Compiled programs are cached by pattern and flags, so building a `LinearRegExp` per evaluation
 * (as JSONata does for every regex literal it meets) compiles each pattern once. A non-global
 * `test` of a pattern whose backtracking is provably linear (the usual schema `pattern`) runs on a
 * native `RegExp` with RE2's meaning (deterministic-regex.ts), 10-30x faster than re2js.
 */
import { RE2JS, type Matcher } from 're2js';
import { deterministicRegExp, testDeterministic } from './deterministic-regex.js';

/** A pattern the linear-time engine cannot run, or not a valid pattern at all. */
export class LinearRegexError extends Error {
  override readonly name = 'LinearRegexError';
  constructor(
    message: string,
    /** The pattern as written (JavaScript syntax, without slashes). */
    readonly pattern: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Flags a pattern may carry: `g` (exec advances `lastIndex`), `i`, `m`, `s`, and `u` (RE2 is always Unicode-aware). */
const SUPPORTED_FLAGS = /^[gimsu]*$/;
/** Distinct compiled patterns kept; config brings a fixed set, `$eval` on row data could bring more. */
const MAX_CACHED_PROGRAMS = 1000;
const programs = new Map<string, RE2JS>();

/**
 * A compiled pattern with the `RegExp` surface JSONata and Ajv use: `exec`, `test`, `lastIndex`,
 * `source`, `flags`. Throws `LinearRegexError` for a pattern it cannot run.
 */
export class LinearRegExp {
  readonly source: string;
  readonly flags: string;
  readonly global: boolean;
  /** Where the next `exec` of a global pattern starts, as `RegExp.prototype.lastIndex`. */
  lastIndex = 0;
  private readonly program: RE2JS;
  private readonly groupCount: number;
  private readonly groupNames: readonly (readonly [string, number])[];
  /** The same pattern on the native engine, where it provably cannot backtrack more than linearly (`test` only). */
  private readonly native: RegExp | undefined;
  /** The matcher of the last input, reused while a caller walks one string with `lastIndex`. */
  private matcher: Matcher | undefined;
  private matcherInput: string | undefined;

  constructor(pattern: string | RegExp, flags?: string) {
    const source = typeof pattern === 'string' ? pattern : pattern.source;
    this.flags = flags ?? (typeof pattern === 'string' ? '' : pattern.flags);
    this.source = source;
    this.global = this.flags.includes('g');
    this.program = compileProgram(source, this.flags);
    this.groupCount = this.program.groupCount();
    this.groupNames = Object.entries(this.program.namedGroups());
    this.native = this.global ? undefined : deterministicRegExp(source, this.flags);
  }

  /** As `RegExp.prototype.exec`: the first match at or after `lastIndex` (global) or 0, with its groups. */
  exec(input: string): RegExpExecArray | null {
    const start = this.global ? this.lastIndex : 0;
    if (start > input.length) {
      this.lastIndex = 0;
      return null;
    }
    const m = this.matcherFor(input);
    if (!m.find(start)) {
      if (this.global) this.lastIndex = 0;
      return null;
    }
    const found: (string | undefined)[] = [];
    for (let g = 0; g <= this.groupCount; g++) found.push(m.group(g) ?? undefined);
    let groups: Record<string, string | undefined> | undefined;
    if (this.groupNames.length > 0) {
      groups = Object.create(null) as Record<string, string | undefined>;
      for (const [name, index] of this.groupNames) groups[name] = found[index];
    }
    if (this.global) this.lastIndex = m.end();
    return Object.assign(found as string[], { index: m.start(), input, groups }) as RegExpExecArray;
  }

  /** As `RegExp.prototype.test`. */
  test(input: string): boolean {
    if (!this.global) return (this.native && testDeterministic(this.native, input)) ?? this.program.test(input);
    return this.exec(input) !== null;
  }

  toString(): string {
    return `/${this.source}/${this.flags}`;
  }

  private matcherFor(input: string): Matcher {
    if (this.matcher === undefined || this.matcherInput !== input) {
      this.matcher = this.program.matcher(input);
      this.matcherInput = input;
    }
    return this.matcher;
  }
}

/** `LinearRegExp` as JSONata's `RegexEngine` option types it; JSONata calls `new RegexEngine(regExpLiteral)`. */
export const jsonataRegexEngine = LinearRegExp as unknown as RegExpConstructor;

/** Ajv's `code.regExp` option: every `pattern` and `patternProperties` key of a schema runs on the linear-time engine. */
export const ajvRegExp = Object.assign((pattern: string, u: string) => new LinearRegExp(pattern, u), {
  code: 'new LinearRegExp',
});

/** Why the linear-time engine refuses a pattern, or `undefined` when it can run it. */
export function checkLinearRegex(source: string, flags = ''): string | undefined {
  try {
    compileProgram(source, flags);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function compileProgram(source: string, flags: string): RE2JS {
  const key = `${flags}/${source}`;
  const cached = programs.get(key);
  if (cached) return cached;
  const shown = `/${source}/${flags.replace('g', '')}`;
  if (!SUPPORTED_FLAGS.test(flags)) {
    throw new LinearRegexError(`regex ${shown}: flags other than i, m, s, g and u are not supported`, source);
  }
  try {
    // Syntax as JavaScript defines it (what JSONata and JSON Schema promise); nothing is matched here.
    new RegExp(source, flags.replace('g', ''));
  } catch (err) {
    throw new LinearRegexError(`regex ${shown} is not a valid regular expression: ${(err as Error).message}`, source, { cause: err });
  }
  const backtracking = findBacktrackingFeature(source);
  if (backtracking) {
    throw new LinearRegexError(
      `regex ${shown} uses ${backtracking}, which cannot run in linear time; ` +
        'regexes run on RE2, which has no backreferences or lookaround: rewrite the pattern without it',
      source,
    );
  }
  let bits = 0;
  if (flags.includes('i')) bits |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('m')) bits |= RE2JS.MULTILINE;
  if (flags.includes('s')) bits |= RE2JS.DOTALL;
  let program: RE2JS;
  try {
    program = RE2JS.compile(RE2JS.translateRegExp(source), bits);
  } catch (err) {
    throw new LinearRegexError(`regex ${shown} cannot run on the linear-time engine (RE2): ${(err as Error).message}`, source, {
      cause: err,
    });
  }
  if (programs.size >= MAX_CACHED_PROGRAMS) programs.clear();
  programs.set(key, program);
  return program;
}

const LOOKAROUND = [
  ['(?=', 'lookahead'],
  ['(?!', 'negative lookahead'],
  ['(?<=', 'lookbehind'],
  ['(?<!', 'negative lookbehind'],
] as const;

/**
 * The first backreference or lookaround in a JavaScript pattern, described, or `undefined`. RE2
 * rejects these too, but with messages about its own syntax; and `translateRegExp` would turn a
 * named backreference `\k<a>` into the literal text `k<a>`, so it must be caught before.
 */
function findBacktrackingFeature(source: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (!inClass && /[1-9]/.test(next)) return `the backreference \\${/^\d+/.exec(source.slice(i + 1))![0]}`;
      if (!inClass && next === 'k' && source[i + 2] === '<')
        return `the named backreference \\k<${/^[^>]*/.exec(source.slice(i + 3))![0]}>`;
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
    } else if (c === '(') {
      const lookaround = LOOKAROUND.find(([opener]) => source.startsWith(opener, i));
      if (lookaround) return `the ${lookaround[1]} ${lookaround[0]}`;
    }
  }
  return undefined;
}
