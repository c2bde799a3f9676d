/**
 * Ahead-of-time compilation of JSONata expressions into synchronous JavaScript closures, for the
 * subset row mappings use. The jsonata package stays the reference and the fallback:
 *
 * - at compile time, an expression using anything outside the subset is declined (`undefined`) and
 *   always runs on the interpreter;
 * - at run time, a compiled closure meets a value it does not handle exactly the way the interpreter
 *   would (an array where a path expects an object, a number where a string function expects a
 *   string, anything that would be a JSONata error): it throws `Fallback` and the interpreter
 *   evaluates that row, errors and all.
 *
 * So a compiled expression either returns exactly the interpreter's result or defers to it. This is
 * checked on JSONata's own test suite and by differential property tests. No string from an
 * expression ever becomes code: closures are built from the AST, so nothing can break out of a
 * literal. The subset has no loops, recursion or lambdas, so a compiled evaluation cannot run away;
 * anything that could runs on the guarded interpreter.
 *
 * Subset: literals; paths of names (optionally starting with `$` or a variable); variables bound by
 * `:=` in blocks or passed as bindings (`$source`); object and array constructors; `&`, `+ - * / %`,
 * unary minus, `= != < <= > >=`, `and`, `or`, `in`, `?:`, `??`; conditionals; blocks; `value ~>
 * $f(...)`; and the built-ins $string $number $boolean $not $exists $lowercase $uppercase $trim
 * $length $substring $substringBefore $substringAfter $contains $split $join $replace (string
 * patterns) $pad $abs $floor $ceil $round $sum $max $min $average $count $lookup $error, $toMillis
 * $fromMillis $now $millis (with literal date pictures, analysed once: date-pictures.ts) and
 * $formatNumber (literal picture and options: number-pictures.ts). `$lookup` on a literal object
 * of scalars (inline, or bound once to a variable only `$lookup` reads) reads a table built at
 * compile time. `$error` always defers, so the row is rejected with the interpreter's message.
 */
import jsonata from 'jsonata';
import { compileDateFormatter, compileDateParser, isoUtc } from './date-pictures.js';
import { LinearRegExp } from './linear-regex.js';
import { compileNumberFormatter, roundHalfEven } from './number-pictures.js';

/** Thrown by a compiled closure to hand the evaluation to the interpreter. */
export class Fallback extends Error {
  override readonly name = 'Fallback';
}

const fallback = (why: string): never => {
  throw new Fallback(why);
};

/** Variables visible to a compiled closure: block scopes chained to the bindings. */
interface Scope {
  /** Created on the first `:=` in the scope: most evaluations bind nothing. */
  vars?: Map<string, unknown>;
  readonly parent?: Scope;
  /** The bindings passed to the evaluation (`$source`), behind every scope. */
  readonly bindings?: Record<string, unknown>;
  /** The root scope's clock: `$now()` and `$millis()` read one instant per evaluation, as JSONata's do. */
  timestamp?: number;
}

type Closure = (input: unknown, scope: Scope) => unknown;

export interface CompiledExpression {
  /** Evaluates synchronously; throws `Fallback` where the interpreter must decide. */
  evaluate(input: unknown, bindings?: Record<string, unknown>): unknown;
}

interface Node {
  type: string;
  value?: unknown;
  position?: number;
  steps?: Node[];
  lhs?: Node | [Node, Node][];
  rhs?: Node;
  expression?: Node;
  expressions?: Node[];
  arguments?: Node[];
  procedure?: Node;
  condition?: Node;
  then?: Node;
  else?: Node;
  [key: string]: unknown;
}

/** Compiles an expression, or declines (`undefined`) when it uses anything outside the subset. */
export function compileJsonata(expression: string): CompiledExpression | undefined {
  let ast: Node;
  try {
    ast = jsonata(expression).ast() as Node;
  } catch {
    return undefined; // a syntax error: the interpreter reports it
  }
  const closure = compileNode(ast, { bound: new Set(), tables: new Map(), strings: new Map(), usage: analyseVariables(ast) });
  if (!closure) return undefined;
  return {
    evaluate(input, bindings) {
      return closure(input, bindings ? { bindings } : {});
    },
  };
}

/** The keys a node of each type may carry; anything else (stages, groups, focus...) is declined. */
const ALLOWED_KEYS: Record<string, readonly string[]> = {
  string: ['type', 'value', 'position'],
  number: ['type', 'value', 'position'],
  value: ['type', 'value', 'position'],
  name: ['type', 'value', 'position'],
  variable: ['type', 'value', 'position'],
  path: ['type', 'steps'],
  binary: ['type', 'value', 'position', 'lhs', 'rhs'],
  unary: ['type', 'value', 'position', 'expression', 'expressions', 'lhs'],
  condition: ['type', 'position', 'condition', 'then', 'else'],
  block: ['type', 'position', 'expressions'],
  bind: ['type', 'value', 'position', 'lhs', 'rhs'],
  function: ['type', 'value', 'position', 'arguments', 'procedure'],
  apply: ['type', 'value', 'position', 'lhs', 'rhs'],
  regex: ['type', 'value', 'position'],
};

function plainNode(node: Node): boolean {
  const allowed = ALLOWED_KEYS[node.type];
  return !!allowed && Object.keys(node).every((k) => allowed.includes(k) || node[k] === undefined);
}

/** What the compiler knows at a node: the variables bound around it, the constant code tables. */
interface Context {
  /** Variables bound by `:=` in enclosing blocks (they may shadow built-ins). */
  readonly bound: ReadonlySet<string>;
  /** Variables bound (once in the whole expression) to a literal object of scalars, by the time this node runs. */
  readonly tables: ReadonlyMap<string, LookupTable>;
  /** Variables bound (once in the whole expression) to a string literal, by the time this node runs: pictures held in a variable. */
  readonly strings: ReadonlyMap<string, string>;
  readonly usage: VariableUsage;
}
function compileNode(node: Node, ctx: Context): Closure | undefined {
  if (!node || !plainNode(node)) return undefined;
  switch (node.type) {
    case 'string':
    case 'number':
    case 'value': {
      const value = node.value;
      return () => value;
    }
    case 'name':
      return compilePath([node]);
    case 'variable':
      return compilePath([node]);
    case 'path':
      return compilePath(node.steps ?? []);
    case 'binary':
      return compileBinary(node, ctx);
    case 'unary':
      return compileUnary(node, ctx);
    case 'condition': {
      const cond = compileNode(node.condition!, ctx);
      const then = compileNode(node.then!, ctx);
      const otherwise = node.else === undefined ? () => undefined : compileNode(node.else, ctx);
      if (!cond || !then || !otherwise) return undefined;
      return (input, scope) => (boolize(cond(input, scope)) ? then(input, scope) : otherwise(input, scope));
    }
    case 'block': {
      const bound = new Set(ctx.bound);
      const tables = new Map(ctx.tables);
      const strings = new Map(ctx.strings);
      const inner: Context = { bound, tables, strings, usage: ctx.usage };
      const expressions = node.expressions ?? [];
      const parts: Closure[] = [];
      for (let k = 0; k < expressions.length; k++) {
        const expr = expressions[k]!;
        const name =
          expr.type === 'bind' && (expr.lhs as Node | undefined)?.type === 'variable' ? String((expr.lhs as Node).value) : undefined;
        if (name !== undefined) bound.add(name);
        const table = name !== undefined && ctx.usage.binds.get(name) === 1 ? constantTable(expr.rhs) : undefined;
        if (table && k < expressions.length - 1 && !ctx.usage.valueRefs.has(name!)) {
          // A code table only `$lookup` reads, its value discarded: the lookups read the table built
          // here, once, and the row never builds the object.
          tables.set(name!, table);
          continue;
        }
        const part = compileNode(expr, inner);
        if (!part) return undefined;
        parts.push(part);
        if (table) tables.set(name!, table);
        const text = name !== undefined && ctx.usage.binds.get(name) === 1 ? stringLiteral(expr.rhs) : undefined;
        if (text !== undefined) strings.set(name!, text);
      }
      if (parts.length === 0) return () => undefined;
      return (input, scope) => {
        const local: Scope = { parent: scope };
        let result: unknown;
        for (const part of parts) result = part(input, local);
        return result;
      };
    }
    case 'bind': {
      const lhs = node.lhs as Node;
      if (lhs?.type !== 'variable' || !plainNode(lhs) || lhs.value === '') return undefined;
      const name = String(lhs.value);
      const rhs = compileNode(node.rhs!, ctx);
      if (!rhs) return undefined;
      return (input, scope) => {
        const value = rhs(input, scope);
        (scope.vars ??= new Map()).set(name, value);
        return value;
      };
    }
    case 'function':
      return compileCall(node, ctx);
    case 'apply': {
      // `value ~> $f(args)` is `$f(value, args)`; chaining functions or applying a lambda is the interpreter's
      const rhs = node.rhs;
      if (node.value !== '~>' || rhs?.type !== 'function' || !plainNode(rhs)) return undefined;
      return compileCall({ ...rhs, arguments: [node.lhs as Node, ...(rhs.arguments ?? [])] }, ctx);
    }
    default:
      return undefined;
  }
}

function lookupVar(scope: Scope | undefined, name: string): { found: boolean; value?: unknown } {
  let s: Scope | undefined = scope;
  for (; s; s = s.parent) {
    if (s.vars?.has(name)) return { found: true, value: s.vars.get(name) };
    if (!s.parent && s.bindings && Object.prototype.hasOwnProperty.call(s.bindings, name)) return { found: true, value: s.bindings[name] };
  }
  return { found: false };
}

/** A path of names, optionally starting with `$` (the context) or a variable. */
function compilePath(steps: readonly Node[]): Closure | undefined {
  if (steps.length === 0) return undefined;
  const only = steps[0]!;
  if (steps.length === 1 && only.type === 'name' && plainNode(only)) {
    // A column name, the commonest expression of all: one lookup, no step loop.
    const key = String(only.value);
    return (input) => {
      if (Array.isArray(input)) fallback('path over an array');
      const value = lookupName(input, key);
      if (Array.isArray(value) || typeof value === 'function') fallback('path result is a sequence or a function');
      return value;
    };
  }
  const getters: ((current: unknown, input: unknown, scope: Scope) => unknown)[] = [];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if (!plainNode(step)) return undefined;
    if (step.type === 'name') {
      const key = String(step.value);
      getters.push((current) => lookupName(current, key));
    } else if (step.type === 'variable' && i === 0) {
      const name = String(step.value);
      if (name === '') getters.push((_c, input) => input);
      else
        getters.push((_c, _input, scope) => {
          const v = lookupVar(scope, name);
          return v.found ? v.value : fallback(`unbound variable $${name}`);
        });
    } else {
      return undefined;
    }
  }
  return (input, scope) => {
    let current: unknown = input;
    for (const get of getters) {
      if (Array.isArray(current)) fallback('path over an array');
      current = get(current, input, scope);
      if (current === undefined) return undefined;
    }
    if (Array.isArray(current) || typeof current === 'function') fallback('path result is a sequence or a function');
    return current;
  };
}

function lookupName(current: unknown, key: string): unknown {
  if (current !== null && typeof current === 'object' && Object.prototype.hasOwnProperty.call(current, key)) {
    return (current as Record<string, unknown>)[key];
  }
  return undefined;
}

function compileBinary(node: Node, ctx: Context): Closure | undefined {
  const lhs = compileNode(node.lhs as Node, ctx);
  const rhs = compileNode(node.rhs as Node, ctx);
  if (!lhs || !rhs) return undefined;
  switch (node.value) {
    case '&':
      return (i, s) => {
        const l = lhs(i, s);
        const r = rhs(i, s);
        return (l === undefined ? '' : toJsonataString(l)) + (r === undefined ? '' : toJsonataString(r));
      };
    case '+':
    case '-':
    case '*':
    case '/':
    case '%': {
      const op = node.value;
      return (i, s) => {
        const l = lhs(i, s);
        const r = rhs(i, s);
        if ((l !== undefined && typeof l !== 'number') || (r !== undefined && typeof r !== 'number'))
          fallback('arithmetic on a non-number');
        if (l === undefined || r === undefined) return undefined;
        const a = l as number;
        const b = r as number;
        const result = op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : op === '/' ? a / b : a % b;
        if (!Number.isFinite(result)) fallback('non-finite number');
        return result;
      };
    }
    case '=':
    case '!=': {
      const negate = node.value === '!=';
      return (i, s) => {
        const l = lhs(i, s);
        const r = rhs(i, s);
        if (l === undefined || r === undefined) return false;
        if ((typeof l === 'object' && l !== null) || (typeof r === 'object' && r !== null)) fallback('deep equality');
        return negate ? l !== r : l === r;
      };
    }
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const op = node.value;
      return (i, s) => {
        const l = lhs(i, s);
        const r = rhs(i, s);
        const lt = typeof l;
        const rt = typeof r;
        if (!(lt === 'undefined' || lt === 'string' || lt === 'number') || !(rt === 'undefined' || rt === 'string' || rt === 'number')) {
          fallback('comparison of non-comparable values');
        }
        if (l === undefined || r === undefined) return undefined;
        if (lt !== rt) fallback('comparison of mixed types');
        const a = l as number | string;
        const b = r as number | string;
        return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
      };
    }
    case 'and':
      return (i, s) => boolize(lhs(i, s)) && boolize(rhs(i, s));
    case 'or':
      return (i, s) => boolize(lhs(i, s)) || boolize(rhs(i, s));
    case 'in':
      return (i, s) => {
        const l = lhs(i, s);
        const r = rhs(i, s);
        if (l === undefined || r === undefined) return false;
        return (Array.isArray(r) ? r : [r]).some((item) => item === l);
      };
    default:
      return undefined;
  }
}

function compileUnary(node: Node, ctx: Context): Closure | undefined {
  if (node.value === '-') {
    const expr = compileNode(node.expression!, ctx);
    if (!expr) return undefined;
    return (i, s) => {
      const v = expr(i, s);
      if (v === undefined) return undefined;
      if (typeof v !== 'number') fallback('negation of a non-number');
      return -(v as number);
    };
  }
  if (node.value === '[') {
    const items = (node.expressions ?? []).map((e) => ({ closure: compileNode(e, ctx), nested: e.type === 'unary' && e.value === '[' }));
    if (items.some((item) => !item.closure)) return undefined;
    return (i, s) => {
      const out: unknown[] = [];
      for (const item of items) {
        const v = item.closure!(i, s);
        if (v === undefined) continue;
        if (Array.isArray(v) && !item.nested) out.push(...v);
        else out.push(v);
      }
      return out;
    };
  }
  if (node.value === '{' && Array.isArray(node.lhs)) {
    const pairs = (node.lhs as [Node, Node][]).map(([k, v]) => ({
      literal: k.type === 'string' && plainNode(k) ? String(k.value) : undefined,
      key: compileNode(k, ctx),
      value: compileNode(v, ctx),
    }));
    if (pairs.some((p) => !p.key || !p.value)) return undefined;
    const literals = pairs.map((p) => p.literal);
    if (literals.every((k) => k !== undefined)) {
      // Every key a string literal: a duplicate is an error the interpreter reports; no per-row checks.
      if (new Set(literals).size !== literals.length || literals.includes('__proto__')) return undefined;
      return (input, s) => {
        if (Array.isArray(input)) fallback('object constructor over a sequence groups it');
        const out: Record<string, unknown> = {};
        for (let i = 0; i < pairs.length; i++) {
          const v = pairs[i]!.value!(input, s);
          if (v !== undefined) out[literals[i]!] = v;
        }
        return out;
      };
    }
    return (input, s) => {
      if (Array.isArray(input)) fallback('object constructor over a sequence groups it');
      const out: Record<string, unknown> = {};
      const seen = new Set<string>();
      for (const { key, value } of pairs) {
        const k = key!(input, s);
        if (typeof k !== 'string') fallback('object key is not a string');
        if (seen.has(k as string)) fallback('duplicate object key');
        seen.add(k as string);
        const v = value!(input, s);
        if (v !== undefined) out[k as string] = v;
      }
      return out;
    };
  }
  return undefined;
}

/** A literal object of scalars that `$lookup` reads: built once at compile time. */
type LookupTable = ReadonlyMap<string, unknown>;

/** How each variable is used across the whole expression: how often bound, and whether read as a value anywhere but `$lookup`'s table. */
interface VariableUsage {
  readonly binds: ReadonlyMap<string, number>;
  readonly valueRefs: ReadonlySet<string>;
}

function analyseVariables(ast: Node): VariableUsage {
  const binds = new Map<string, number>();
  const valueRefs = new Set<string>();
  const visit = (value: unknown, role: 'value' | 'table' | 'procedure' | 'bound'): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, 'value');
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const node = value as Node;
    if (node.type === 'variable' && typeof node.value === 'string') {
      if (role === 'bound') binds.set(node.value, (binds.get(node.value) ?? 0) + 1);
      else if (role === 'value') valueRefs.add(node.value);
    }
    const isLookup = node.type === 'function' && node.procedure?.type === 'variable' && node.procedure.value === 'lookup';
    for (const [key, child] of Object.entries(node)) {
      if (key === 'procedure') visit(child, 'procedure');
      else if (key === 'lhs' && node.type === 'bind') visit(child, 'bound');
      else if (key === 'arguments' && isLookup && Array.isArray(child)) child.forEach((arg, i) => visit(arg, i === 0 ? 'table' : 'value'));
      else visit(child, 'value');
    }
  };
  visit(ast, 'value');
  return { binds, valueRefs };
}

/** `{"DE": "Germany", ...}`: string keys, scalar literal values; anything else is built per row. */
function constantTable(node: Node | undefined): LookupTable | undefined {
  if (!node || node.type !== 'unary' || node.value !== '{' || !plainNode(node) || !Array.isArray(node.lhs)) return undefined;
  const table = new Map<string, unknown>();
  for (const [k, v] of node.lhs as [Node, Node][]) {
    if (k.type !== 'string' || !plainNode(k) || !['string', 'number', 'value'].includes(v.type) || !plainNode(v)) return undefined;
    const key = String(k.value);
    if (table.has(key) || key === '__proto__') return undefined; // a duplicate key is the interpreter's error to report
    table.set(key, v.value);
  }
  return table;
}

/** A string literal, or a variable bound once to one (`$day := "[D01].[M01].[Y0001]"`). */
const stringLiteral = (node: Node | undefined, ctx?: Context): string | undefined => {
  if (!node || !plainNode(node)) return undefined;
  if (node.type === 'string') return String(node.value);
  return node.type === 'variable' && ctx ? ctx.strings.get(String(node.value)) : undefined;
};

/** The root scope's instant: one per evaluation, as JSONata's `$now()`. */
function evaluationInstant(scope: Scope): number {
  let root = scope;
  while (root.parent) root = root.parent;
  return (root.timestamp ??= Date.now());
}

const evaluationDate = (scope: Scope) => new Date(evaluationInstant(scope));

/**
 * Runs a picture formatter; JSONata's picture functions throw `{ code }`, and compiled any throw
 * hands the row to the interpreter to report. (No closure per call: this runs once per row.)
 */
function formatOrFallback<T>(format: (value: T) => string, value: T): string {
  try {
    return format(value);
  } catch {
    return fallback('the picture rejects this value');
  }
}

/** Analysed once at compile time; a picture JSONata rejects (or one that fails on a sample value) declines the expression. */
function analysePicture<T>(analyse: () => T, probe: (t: T) => unknown): T | undefined {
  try {
    const compiled = analyse();
    probe(compiled);
    return compiled;
  } catch {
    return undefined;
  }
}

type ArgReader = (closure: Closure | undefined, input: unknown, scope: Scope) => unknown;

/**
 * Built-ins compiled with knowledge of their literal arguments (pictures, code tables) or of the
 * evaluation (its instant). `undefined`: this call is not specialised; the plain table may take it.
 */
const SPECIALISED: Record<
  string,
  (args: readonly Node[], closures: readonly Closure[], arg: ArgReader, ctx: Context) => Closure | undefined
> = {
  toMillis: (args, [a0], arg, ctx) => {
    const picture = stringLiteral(args[1], ctx);
    if (args.length !== 2 || picture === undefined) return undefined;
    const parse = analysePicture(
      () => compileDateParser(picture),
      () => undefined, // parsing fails only per value: the regex and the parts are built
    );
    if (!parse) return undefined;
    return (i, s) => {
      const ts = arg(a0, i, s);
      if (ts === undefined) return undefined;
      if (!isStr(ts)) return fallback('toMillis of a non-string');
      let millis: number | undefined;
      try {
        millis = parse(ts, evaluationDate, s);
      } catch {
        return fallback('the date picture rejects this text');
      }
      if (millis !== undefined && !Number.isFinite(millis)) return fallback('not a valid instant');
      return millis;
    };
  },
  fromMillis: (args, [a0], arg, ctx) => {
    const picture = stringLiteral(args[1], ctx);
    const timezone = stringLiteral(args[2], ctx);
    if (args.length < 2 || args.length > 3 || picture === undefined || (args.length === 3 && timezone === undefined)) return undefined;
    const format = analysePicture(
      () => compileDateFormatter(picture, timezone),
      (f) => f(0),
    );
    if (!format) return undefined;
    return (i, s) => {
      const millis = arg(a0, i, s);
      if (millis === undefined) return undefined;
      if (!isNum(millis)) return fallback('fromMillis of a non-number');
      return formatOrFallback(format, millis);
    };
  },
  now: (args, _closures, _arg, ctx) => {
    const picture = stringLiteral(args[0], ctx);
    const timezone = stringLiteral(args[1], ctx);
    if (args.length === 0 || args.length > 2 || picture === undefined || (args.length === 2 && timezone === undefined)) return undefined;
    const format = analysePicture(
      () => compileDateFormatter(picture, timezone),
      (f) => f(0),
    );
    if (!format) return undefined;
    return (_i, s) => formatOrFallback(format, evaluationInstant(s));
  },
  formatNumber: (args, [a0], arg, ctx) => {
    const picture = stringLiteral(args[1], ctx);
    const options = args.length === 3 ? literalOptions(args[2]!) : {};
    if (args.length < 2 || args.length > 3 || picture === undefined || !options) return undefined;
    const format = analysePicture(
      () => compileNumberFormatter(picture, options),
      (f) => f(0),
    );
    if (!format) return undefined;
    return (i, s) => {
      const value = arg(a0, i, s);
      if (value === undefined) return undefined;
      if (!isNum(value) || !Number.isFinite(value)) return fallback('formatNumber of a non-number');
      return formatOrFallback(format, value);
    };
  },
  contains: (args, [a0], arg) => {
    const re = regexArgument(args[1]);
    if (args.length !== 2 || !re) return undefined;
    return (i, s) => {
      const str = arg(a0, i, s);
      if (str === undefined) return undefined;
      if (!isStr(str)) return fallback('contains on a non-string');
      re.lastIndex = 0;
      return re.exec(str) !== null;
    };
  },
  split: (args, [a0, , a2], arg) => {
    const re = regexArgument(args[1]);
    if (!re || args.length > 3) return undefined;
    return (i, s) => {
      const str = arg(a0, i, s);
      if (str === undefined) return undefined;
      const limit = arg(a2, i, s);
      if (!isStr(str) || !optional(limit, isNum) || (limit !== undefined && limit < 0)) return fallback('split arguments');
      const result: string[] = [];
      if (limit === 0) return result;
      let start = 0;
      let count = 0;
      const complete = eachMatch(re, str, limit, (m) => {
        result.push(str.substring(start, m.index));
        start = m.index + m[0]!.length;
        count++;
      });
      if (!complete) return fallback('a zero-length match: the interpreter reports it');
      if (limit === undefined || count < limit) result.push(str.substring(start));
      return result;
    };
  },
  replace: (args, [a0, , a2, a3], arg) => {
    const re = regexArgument(args[1]);
    if (!re || args.length < 3 || args.length > 4) return undefined;
    return (i, s) => {
      const str = arg(a0, i, s);
      if (str === undefined) return undefined;
      const replacement = arg(a2, i, s);
      const limit = arg(a3, i, s);
      if (!isStr(str) || !isStr(replacement) || !optional(limit, isNum) || (limit !== undefined && limit < 0)) {
        return fallback('replace arguments');
      }
      if (limit === 0) return str;
      let result = '';
      let position = 0;
      const complete = eachMatch(re, str, limit, (m) => {
        result += str.substring(position, m.index) + substitute(replacement, m);
        position = m.index + m[0]!.length;
      });
      if (!complete) return fallback('a zero-length match: the interpreter reports it');
      return result + str.substring(position);
    };
  },
  lookup: (args, [, a1], arg, ctx) => {
    if (args.length !== 2) return undefined;
    const first = args[0]!;
    const table = first.type === 'variable' && plainNode(first) ? ctx.tables.get(String(first.value)) : constantTable(first);
    if (!table) return undefined;
    return (i, s) => {
      // an object constructor evaluated over a sequence would group it: the interpreter decides
      if (Array.isArray(i)) return fallback('code table over a sequence');
      const key = arg(a1, i, s);
      if (key !== undefined && !isStr(key)) return fallback('lookup key is not a string');
      return table.get(String(key));
    };
  },
};

/** The regex built-ins and the argument that may be a regex literal. */
const REGEX_BUILTINS = new Set(['contains', 'split', 'replace']);
/** Stands for a regex literal among compiled arguments; the regex built-ins read the literal itself. */
const REGEX_ARGUMENT: Closure = () => fallback('a regex literal as a value');

/**
 * A regex literal on the linear-time engine (the one the interpreter runs regexes on), built once:
 * JSONata makes every literal global. A pattern that engine refuses is left to the interpreter.
 */
function regexArgument(node: Node | undefined): LinearRegExp | undefined {
  if (!node || node.type !== 'regex' || !plainNode(node) || !(node.value instanceof RegExp)) return undefined;
  try {
    return new LinearRegExp(node.value.source, node.value.flags);
  } catch {
    return undefined;
  }
}

/**
 * Walks a string's matches as JSONata's matcher does: the first from the start, each next from
 * where the last ended, up to `limit`; the next match is looked for before the limit is checked,
 * and one of zero length is JSONata's error D1004 (false here: the interpreter reports it).
 */
function eachMatch(re: LinearRegExp, str: string, limit: number | undefined, onMatch: (m: RegExpExecArray) => void): boolean {
  re.lastIndex = 0;
  let m = re.exec(str);
  let count = 0;
  while (m !== null && (limit === undefined || count < limit)) {
    onMatch(m);
    count++;
    if (re.lastIndex >= str.length) return true;
    m = re.exec(str);
    if (m !== null && m[0] === '') return false;
  }
  return true;
}

/** `$replace`'s replacement text for one match: `$0` the match, `$n` a group, `$$` a dollar (JSONata's rules, digit for digit). */
function substitute(replacement: string, m: RegExpExecArray): string {
  const groups = m.length - 1;
  let result = '';
  let position = 0;
  let index = replacement.indexOf('$', position);
  while (index !== -1 && position < replacement.length) {
    result += replacement.substring(position, index);
    position = index + 1;
    const dollarVal = replacement.charAt(position);
    if (dollarVal === '$') {
      result += '$';
      position++;
    } else if (dollarVal === '0') {
      result += m[0];
      position++;
    } else {
      const maxDigits = groups === 0 ? 1 : Math.floor(Math.log(groups) * Math.LOG10E) + 1;
      index = parseInt(replacement.substring(position, position + maxDigits), 10);
      if (maxDigits > 1 && index > groups) index = parseInt(replacement.substring(position, position + maxDigits - 1), 10);
      if (!isNaN(index)) {
        if (groups > 0) {
          const group = m[index];
          if (index >= 1 && group !== undefined) result += group;
        }
        position += index.toString().length;
      } else {
        result += '$';
      }
    }
    index = replacement.indexOf('$', position);
  }
  return result + replacement.substring(position);
}

/** `$formatNumber`'s third argument when it is a literal object of strings. */
function literalOptions(node: Node): Record<string, string> | undefined {
  const table = constantTable(node);
  if (!table || [...table.values()].some((v) => !isStr(v))) return undefined;
  return Object.fromEntries(table) as Record<string, string>;
}

/** `$sum` and its kin: an array of numbers, or one number. */
function aggregate(f: (numbers: readonly number[]) => number | undefined, ofUndefined: number | undefined): Builtin {
  return {
    min: 1,
    max: 1,
    fn: (v) => {
      if (v === undefined) return ofUndefined;
      const values = Array.isArray(v) ? v : [v];
      if (!values.every(isNum)) return fallback('aggregate of non-numbers');
      return f(values);
    },
  };
}

type Builtin = { min: number; max: number; fn: (a?: unknown, b?: unknown, c?: unknown) => unknown };

const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number';
const optional = <T>(v: unknown, guard: (v: unknown) => v is T): v is T | undefined => v === undefined || guard(v);

/** One string argument (undefined in, undefined out). */
function stringFn(f: (s: string) => unknown): Builtin {
  return {
    min: 1,
    max: 1,
    fn: (s) => (s === undefined ? undefined : isStr(s) ? f(s) : fallback('string function on a non-string')),
  };
}

/** One number argument (undefined in, undefined out). */
function numberFn(f: (n: number) => number): Builtin {
  return {
    min: 1,
    max: 1,
    fn: (n) => (n === undefined ? undefined : isNum(n) ? f(n) : fallback('number function on a non-number')),
  };
}

const HAS_SURROGATES = /[\uD800-\uDFFF]/;
/** The strings `$number` reads as decimal numbers (JSONata's test). */
const DECIMAL = /^-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?$/;
/** What `$trim` changes: a tab or line break, two spaces in a row, a space at either end. */
const UNTRIMMED = /[\t\n\r]| {2}|^ | $/;

/** JSONata counts characters by code point. */
function codePoints(s: string): string[] | undefined {
  return HAS_SURROGATES.test(s) ? Array.from(s) : undefined;
}

const BUILTINS: Record<string, Builtin> = {
  string: {
    min: 1,
    max: 1,
    fn: (v) => (v === undefined ? undefined : toJsonataString(v)),
  },
  number: {
    min: 1,
    max: 1,
    fn: (v) => {
      if (v === undefined) return undefined;
      if (typeof v === 'number') return v;
      if (v === true) return 1;
      if (v === false) return 0;
      if (typeof v === 'string' && DECIMAL.test(v)) {
        const n = +v; // parseFloat's value for a decimal literal, read once
        if (Number.isFinite(n)) return n;
      }
      if (typeof v === 'string' && /^(0[xX][0-9A-Fa-f]+)|(0[oO][0-7]+)|(0[bB][0-1]+)$/.test(v))
        return fallback('hex, octal or binary number');
      return fallback('not a number');
    },
  },
  boolean: { min: 1, max: 1, fn: (v) => (v === undefined ? undefined : toBoolean(v)) },
  not: { min: 1, max: 1, fn: (v) => (v === undefined ? undefined : !toBoolean(v)) },
  exists: { min: 1, max: 1, fn: (v) => v !== undefined },
  lowercase: stringFn((s) => s.toLowerCase()),
  uppercase: stringFn((s) => s.toUpperCase()),
  trim: stringFn((s) => {
    if (!UNTRIMMED.test(s)) return s; // already trimmed: no copy
    let result = s.replace(/[ \t\n\r]+/gm, ' ');
    if (result.charAt(0) === ' ') result = result.substring(1);
    if (result.charAt(result.length - 1) === ' ') result = result.substring(0, result.length - 1);
    return result;
  }),
  length: stringFn((s) => (codePoints(s) ?? s).length),
  substring: {
    min: 2,
    max: 3,
    fn: (s, start, length) => {
      if (s === undefined) return undefined;
      if (!isStr(s) || !isNum(start) || !optional(length, isNum)) return fallback('substring arguments');
      const chars = codePoints(s);
      const len = chars ? chars.length : s.length;
      let from = start;
      if (len + from < 0) from = 0;
      const slice = (a: number, b?: number) => (chars ? chars.slice(a, b).join('') : s.slice(a, b));
      if (length !== undefined) {
        if (length <= 0) return '';
        return slice(from, from >= 0 ? from + length : len + from + length);
      }
      return slice(from);
    },
  },
  substringBefore: {
    min: 2,
    max: 2,
    fn: (s, chars) => {
      if (s === undefined) return undefined;
      if (!isStr(s) || !isStr(chars)) return fallback('substringBefore arguments');
      const pos = s.indexOf(chars);
      return pos > -1 ? s.substring(0, pos) : s;
    },
  },
  substringAfter: {
    min: 2,
    max: 2,
    fn: (s, chars) => {
      if (s === undefined) return undefined;
      if (!isStr(s) || !isStr(chars)) return fallback('substringAfter arguments');
      const pos = s.indexOf(chars);
      return pos > -1 ? s.substring(pos + chars.length) : s;
    },
  },
  contains: {
    min: 2,
    max: 2,
    fn: (s, token) => {
      if (s === undefined || token === undefined) return undefined;
      if (!isStr(s) || !isStr(token)) return fallback('contains with a non-string');
      return s.indexOf(token) !== -1;
    },
  },
  split: {
    min: 2,
    max: 3,
    fn: (s, separator, limit) => {
      if (s === undefined) return undefined;
      if (!isStr(s) || !isStr(separator) || !optional(limit, isNum) || (limit !== undefined && limit < 0))
        return fallback('split arguments');
      if (limit !== undefined && limit === 0) return [];
      return s.split(separator, limit);
    },
  },
  join: {
    min: 1,
    max: 2,
    fn: (strs, separator) => {
      if (strs === undefined) return undefined;
      if (!optional(separator, isStr)) return fallback('join separator');
      if (isStr(strs)) return strs;
      if (!Array.isArray(strs) || !strs.every(isStr)) return fallback('join of non-strings');
      return strs.join(separator ?? '');
    },
  },
  replace: {
    min: 3,
    max: 3,
    fn: (s, pattern, replacement) => {
      if (s === undefined) return undefined;
      if (!isStr(s) || !isStr(pattern) || pattern === '' || !isStr(replacement)) return fallback('replace arguments');
      if (s.indexOf(pattern) === -1) return s;
      // replaceAll reads `$&`, `$1`... in a replacement string; JSONata's string patterns never do
      return replacement.indexOf('$') === -1 ? s.replaceAll(pattern, replacement) : s.split(pattern).join(replacement);
    },
  },
  pad: {
    min: 2,
    max: 3,
    fn: (s, width, char) => {
      if (s === undefined) return undefined;
      if (!isStr(s) || !isNum(width) || !optional(char, isStr) || Math.abs(width) > 1_000_000) return fallback('pad arguments');
      const padChar = char === undefined || char.length === 0 ? ' ' : char;
      const w = Math.trunc(width);
      const padLength = Math.abs(w) - (codePoints(s) ?? s).length;
      if (padLength <= 0) return s;
      let padding = new Array(padLength + 1).join(padChar);
      if (padChar.length > 1) padding = Array.from(padding).slice(0, padLength).join('');
      return w > 0 ? s + padding : padding + s;
    },
  },
  // Date functions without a picture (ISO 8601); with one they are left to the interpreter.
  toMillis: {
    min: 1,
    max: 1,
    fn: (ts) => {
      if (ts === undefined) return undefined;
      if (!isStr(ts) || !ISO_8601.test(ts)) return fallback('not an ISO 8601 timestamp');
      return Date.parse(ts);
    },
  },
  fromMillis: {
    min: 1,
    max: 1,
    fn: (millis) => (millis === undefined ? undefined : isNum(millis) ? isoTimestamp(millis) : fallback('fromMillis of a non-number')),
  },
  now: { min: 0, max: 0, fn: () => fallback('$now is evaluated with its scope') },
  millis: { min: 0, max: 0, fn: () => fallback('$millis is evaluated with its scope') },
  sum: aggregate((xs) => xs.reduce((total, x) => total + x, 0), undefined),
  max: aggregate((xs) => (xs.length === 0 ? undefined : Math.max(...xs)), undefined),
  min: aggregate((xs) => (xs.length === 0 ? undefined : Math.min(...xs)), undefined),
  average: aggregate((xs) => (xs.length === 0 ? undefined : xs.reduce((total, x) => total + x, 0) / xs.length), undefined),
  count: { min: 1, max: 1, fn: (v) => (v === undefined ? 0 : Array.isArray(v) ? v.length : 1) },
  lookup: {
    min: 2,
    max: 2,
    fn: (object, key) => {
      if (key !== undefined && !isStr(key)) return fallback('lookup key is not a string');
      const value = lookupName(object, String(key));
      return Array.isArray(value) || typeof value === 'function' ? fallback('lookup of a sequence or a function') : value;
    },
  },
  // The row is rejected with the interpreter's own error and message.
  error: { min: 0, max: 1, fn: () => fallback('$error: the interpreter raises it') },
  abs: numberFn(Math.abs),
  floor: numberFn(Math.floor),
  ceil: numberFn(Math.ceil),
  round: {
    min: 1,
    max: 2,
    fn: (n, precision) => {
      if (n === undefined) return undefined;
      if (!isNum(n) || !optional(precision, isNum)) return fallback('round arguments');
      return roundHalfEven(n, precision);
    },
  },
};

/** Built-ins that take a sequence as it is; the others defer to the interpreter when given one. */
const TAKES_SEQUENCES = new Set(['join', 'boolean', 'not', 'exists', 'string', 'sum', 'max', 'min', 'average', 'count']);

function compileCall(node: Node, ctx: Context): Closure | undefined {
  const procedure = node.procedure;
  if (!procedure || procedure.type !== 'variable' || !plainNode(procedure)) return undefined;
  const name = String(procedure.value);
  // A block that binds the name shadows the built-in: left to the interpreter.
  if (ctx.bound.has(name)) return undefined;
  const argNodes = node.arguments ?? [];
  // A regex literal is no value of its own here: only the regex built-ins take one (as a matcher).
  if (argNodes.some((a) => a.type === 'regex') && !REGEX_BUILTINS.has(name)) return undefined;
  const compiledArgs = argNodes.map((a) => (a.type === 'regex' ? REGEX_ARGUMENT : compileNode(a, ctx)));
  if (compiledArgs.some((a) => !a)) return undefined;
  const args = compiledArgs as Closure[];
  const takesSequences = TAKES_SEQUENCES.has(name);
  const arg: ArgReader = (closure, input, scope) => {
    if (!closure) return undefined;
    const v = closure(input, scope);
    if (typeof v === 'function' || (!takesSequences && Array.isArray(v))) fallback('sequence or function argument');
    return v;
  };
  const specialised = Object.prototype.hasOwnProperty.call(SPECIALISED, name) ? SPECIALISED[name]!(argNodes, args, arg, ctx) : undefined;
  if (specialised) return specialised;
  const builtin = Object.prototype.hasOwnProperty.call(BUILTINS, name) ? BUILTINS[name] : undefined;
  if (!builtin || args.length < builtin.min || args.length > builtin.max) return undefined;
  const { fn } = builtin;
  const [a0, a1, a2] = args;
  if (name === 'now' || name === 'millis') {
    return (_i, s) => {
      const instant = evaluationInstant(s);
      return name === 'millis' ? instant : isoTimestamp(instant);
    };
  }
  // Specialised by arity: no argument arrays on the hot path.
  if (args.length === 0) return () => fn();
  if (args.length === 1) return (i, s) => fn(arg(a0, i, s));
  if (args.length === 2) return (i, s) => fn(arg(a0, i, s), arg(a1, i, s));
  return (i, s) => fn(arg(a0, i, s), arg(a1, i, s), arg(a2, i, s));
}

/** JSONata's ISO 8601 test for `$toMillis` without a picture. */
const ISO_8601 = /^\d{4}(-[01]\d)?(-[0-3]\d)?(T[0-2]\d:[0-5]\d:[0-5]\d)?(\.\d+)?([+-][0-2]\d:?[0-5]\d|Z)?$/;

/** JSONata's default timestamp format: ISO 8601 in UTC with milliseconds, for years 0 to 9999. */
function isoTimestamp(millis: number): string {
  // 0000-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z
  if (!Number.isInteger(millis) || millis < -62_167_219_200_000 || millis > 253_402_300_799_999) {
    return fallback('timestamp outside the ISO range');
  }
  return isoUtc(millis);
}

/** The JSONata `$string` of a value (its `&` operands too). */
function toJsonataString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'function') return fallback('string of a function');
  if (typeof v === 'number' && !Number.isFinite(v)) return fallback('string of a non-finite number');
  if (Array.isArray(v)) return fallback('string of a sequence');
  return JSON.stringify(v, (_key, val: unknown) => {
    if (typeof val === 'number') {
      if (!Number.isFinite(val)) fallback('non-finite number');
      return Number.isInteger(val) ? val : Number(val.toPrecision(15));
    }
    if (typeof val === 'function') fallback('function inside a value');
    return val;
  });
}

/** JSONata's effective boolean value. */
function toBoolean(v: unknown): boolean {
  if (Array.isArray(v)) {
    if (v.length === 1) return toBoolean(v[0]);
    return v.length > 1 && v.some((item) => toBoolean(item));
  }
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number') return v !== 0 && !Number.isNaN(v);
  if (typeof v === 'boolean') return v;
  if (typeof v === 'function') return fallback('boolean of a function');
  if (v !== null && typeof v === 'object') return Object.keys(v).length > 0;
  return false;
}

function boolize(v: unknown): boolean {
  return v === undefined ? false : toBoolean(v);
}
