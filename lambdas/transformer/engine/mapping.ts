import jsonata from 'jsonata';
import type { MappingConfig } from '../model.js';
import { compileJsonata, Fallback } from './compile-jsonata.js';
import { jsonataRegexEngine, LinearRegexError, LinearRegExp } from './linear-regex.js';
import type { MappingFallback } from './outcome.js';

/** Bounds on one expression evaluation: a runaway expression rejects its row, never hangs the file. */
export interface MappingLimits {
  /** Wall time of one evaluation. */
  readonly timeoutMs: number;
  /** Depth of the evaluator's recursion. */
  readonly maxDepth: number;
  /** Longest sequence an expression may build. */
  readonly maxSequence: number;
}

export const DEFAULT_MAPPING_LIMITS: MappingLimits = { timeoutMs: 1000, maxDepth: 500, maxSequence: 100_000 };

/** `$source`, bound for every row. */
export interface RowSource {
  readonly partner: string;
  readonly feed: string;
  readonly key: string;
  readonly line: number;
  readonly record: number;
}

/**
 * The row as mappings see it: column name -> cell. Only own properties are ever read (JSONata's
 * lookup and the compiled paths both check `hasOwnProperty`), and a `__proto__` column is defined,
 * never assigned, so no header can reach or change `Object.prototype`.
 */
export type Row = Record<string, string>;

/**
 * A mapping that could not produce an output record for a row. `message` quotes no value of the row
 * (it reaches the ledger, events and logs); `detail`, when set, is the same with the values, for the
 * rejects object only.
 */
export class MappingError extends Error {
  override readonly name = 'MappingError';
  constructor(
    message: string,
    /** JSON pointer of the output field whose expression failed, when the mapping is field by field. */
    readonly field?: string,
    options?: ErrorOptions & { detail?: string },
  ) {
    super(message, options);
    this.detail = options?.detail;
  }
  readonly detail: string | undefined;
}

/**
 * A mapping compiled once per feed, evaluated once per row: synchronously when every expression it
 * needs is compiled, as a promise when the interpreter runs. Throws (or rejects with) `MappingError`.
 */
export interface CompiledMapping {
  /** `fallbacks`, one per file, counts the rows where a compiled expression handed over to the interpreter. */
  map(row: Row, source: RowSource, fallbacks?: FallbackCounter): Record<string, unknown> | Promise<Record<string, unknown>>;
}

/**
 * Per expression, the rows where its compiled closure handed over to the interpreter: by design
 * (a deferral: a value or construct the closure leaves to the interpreter) or because the closure
 * threw something else (a compiler bug: the interpreter still decides, but it is counted and named,
 * never a silent slowdown). Touched only on a fallback, never on the compiled path.
 */
export class FallbackCounter {
  private readonly byExpression = new Map<number, { field: string; deferred: number; errors: number; reason?: string; error?: string }>();

  note(index: number, field: string, err: unknown): void {
    let entry = this.byExpression.get(index);
    if (!entry) this.byExpression.set(index, (entry = { field, deferred: 0, errors: 0 }));
    if (err === undefined || err instanceof Fallback) {
      entry.deferred++;
      entry.reason ??= err ? err.message : 'the closure produced a function';
    } else {
      entry.errors++;
      entry.error ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    }
  }

  /** The counts by field; empty when every row stayed compiled. */
  report(): MappingFallback[] {
    return sortByField([...this.byExpression.values()].map((entry) => ({ ...entry })));
  }
}

/** Fallbacks counted in parts of one file (the chunks of a split run), as one file's count. */
export function mergeFallbacks(parts: readonly (readonly MappingFallback[] | undefined)[]): MappingFallback[] {
  const byField = new Map<string, MappingFallback>();
  for (const f of parts.flatMap((p) => p ?? [])) {
    const seen = byField.get(f.field);
    if (!seen) byField.set(f.field, { ...f });
    else {
      const reason = seen.reason ?? f.reason;
      const error = seen.error ?? f.error;
      byField.set(f.field, {
        field: f.field,
        deferred: seen.deferred + f.deferred,
        errors: seen.errors + f.errors,
        ...(reason === undefined ? {} : { reason }),
        ...(error === undefined ? {} : { error }),
      });
    }
  }
  return sortByField([...byField.values()]);
}

function sortByField(fallbacks: MappingFallback[]): MappingFallback[] {
  return fallbacks.sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
}

/** An expression that does not compile: thrown at compile time, reported by config validation. */
export class ExpressionSyntaxError extends Error {
  override readonly name = 'ExpressionSyntaxError';
  constructor(
    message: string,
    readonly expression: string,
    /** 0-based character offset of the problem in the expression. */
    readonly position: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Compiles one JSONata expression with the guardrails on: bounded time, depth and sequences, and
 * every regex on the linear-time engine. Throws `ExpressionSyntaxError` for a syntax error and for a
 * regex literal the engine cannot run (its position is the regex's opening slash).
 */
export function compileExpression(expression: string, limits: MappingLimits = DEFAULT_MAPPING_LIMITS): jsonata.Expression {
  let compiled: jsonata.Expression;
  try {
    compiled = jsonata(expression, {
      timeout: limits.timeoutMs,
      stack: limits.maxDepth,
      sequence: limits.maxSequence,
      RegexEngine: jsonataRegexEngine,
    });
  } catch (err) {
    const e = err as { message?: string; position?: number; token?: string; code?: string };
    throw new ExpressionSyntaxError(`${e.message ?? String(err)}${e.code ? ` [${e.code}]` : ''}`, expression, e.position, {
      cause: err,
    });
  }
  for (const literal of regexLiterals(compiled.ast())) {
    try {
      new LinearRegExp(literal.regex);
    } catch (err) {
      if (!(err instanceof LinearRegexError)) throw err;
      throw new ExpressionSyntaxError(err.message, expression, literal.position, { cause: err });
    }
  }
  return compiled;
}

/**
 * Every regex literal of an expression's syntax tree, with the 1-based position of its opening
 * slash (JSONata records where a token ends: the slashes and flags other than `g` are counted back).
 */
function regexLiterals(ast: unknown): { regex: RegExp; position: number | undefined }[] {
  const found: { regex: RegExp; position: number | undefined }[] = [];
  const seen = new Set<unknown>();
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    const n = node as { type?: unknown; value?: unknown; position?: unknown };
    if (n.type === 'regex' && n.value instanceof RegExp) {
      const end = typeof n.position === 'number' ? n.position : undefined;
      const length = n.value.source.length + 2 + n.value.flags.replace('g', '').length;
      found.push({ regex: n.value, position: end === undefined ? undefined : Math.max(1, end - length + 1) });
      return;
    }
    for (const child of Object.values(node)) visit(child);
  };
  visit(ast);
  return found;
}

/** How a mapping is evaluated: compiled closures first (the default), or the interpreter only (the reference). */
export interface MappingOptions {
  readonly limits?: MappingLimits;
  /** Use the ahead-of-time compiler where it accepts an expression; default true. */
  readonly compiled?: boolean;
}

/** Compiles a feed's mapping: each field expression in YAML order, or the one whole-object expression. */
export function compileMapping(mapping: MappingConfig, options: MappingOptions = {}): CompiledMapping {
  const limits = options.limits ?? DEFAULT_MAPPING_LIMITS;
  const useCompiler = options.compiled ?? true;
  if (mapping.kind === 'expression') {
    const evaluator = createEvaluator(mapping.expression, limits, useCompiler, undefined, 0);
    const check = (value: unknown): Record<string, unknown> => {
      if (value === undefined) throw new MappingError('the mapping produced nothing for this row');
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        const kind = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
        throw new MappingError(`the mapping must produce an object, got ${kind}`, undefined, {
          detail: `the mapping must produce an object, got ${describe(value)}`,
        });
      }
      return value as Record<string, unknown>;
    };
    return {
      map(row, source, fallbacks) {
        const value = evaluator(row, { source }, fallbacks);
        return value instanceof Promise ? value.then(check) : check(value);
      },
    };
  }
  const fields = mapping.fields.map((f, index) => {
    const pointer = `/${f.path.map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
    // a top-level field (most are) is set directly, without walking a path
    return {
      path: f.path,
      key: f.path.length === 1 ? f.path[0] : undefined,
      evaluate: createEvaluator(f.expression, limits, useCompiler, pointer, index),
    };
  });
  // Fields are evaluated in YAML order; the rest of a row goes asynchronous only from the first
  // field the interpreter evaluates.
  const finishAsync = async (
    from: number,
    pending: Promise<unknown>,
    out: Record<string, unknown>,
    row: Row,
    bindings: { source: RowSource },
    fallbacks: FallbackCounter | undefined,
  ) => {
    for (let i = from; i < fields.length; i++) {
      const value = i === from ? await pending : await fields[i]!.evaluate(row, bindings, fallbacks);
      if (value !== undefined) setPath(out, fields[i]!.path, value);
    }
    return out;
  };
  return {
    map(row, source, fallbacks) {
      const bindings = { source };
      const out: Record<string, unknown> = {};
      for (let i = 0; i < fields.length; i++) {
        const field = fields[i]!;
        const value = field.evaluate(row, bindings, fallbacks);
        if (value instanceof Promise) return finishAsync(i, value, out, row, bindings, fallbacks);
        if (value === undefined) continue;
        if (field.key !== undefined) out[field.key] = value;
        else setPath(out, field.path, value);
      }
      return out;
    },
  };
}

/** Evaluates one expression: synchronously through its compiled closure, or (declined, deferred) on the interpreter. */
type Evaluator = (row: Row, bindings: { source: RowSource }, fallbacks: FallbackCounter | undefined) => unknown;

function createEvaluator(
  expression: string,
  limits: MappingLimits,
  useCompiler: boolean,
  field: string | undefined,
  index: number,
): Evaluator {
  const interpreter = compileExpression(expression, limits);
  const interpret: Evaluator = (row, bindings) => evaluate(interpreter, row, bindings, field);
  const compiled = useCompiler ? compileJsonata(expression) : undefined;
  if (!compiled) return interpret;
  return (row, bindings, fallbacks) => {
    let value: unknown;
    try {
      value = compiled.evaluate(row, bindings);
    } catch (err) {
      // A deferral, or anything unexpected: counted, and the interpreter decides, errors and all.
      fallbacks?.note(index, field ?? '', err);
      return interpret(row, bindings, fallbacks);
    }
    if (typeof value !== 'function') return value;
    fallbacks?.note(index, field ?? '', undefined);
    return interpret(row, bindings, fallbacks);
  };
}

async function evaluate(expr: jsonata.Expression, row: Row, bindings: { source: RowSource }, field: string | undefined): Promise<unknown> {
  let value: unknown;
  try {
    value = await expr.evaluate(row, bindings);
  } catch (err) {
    const at = field ? `${field}: ` : '';
    throw new MappingError(`${at}${describeJsonataError(err, true)}`, field, {
      cause: err,
      detail: `${at}${describeJsonataError(err, false)}`,
    });
  }
  if (typeof value === 'function') {
    throw new MappingError(`${field ? `${field}: ` : ''}the expression produced a function, not a value`, field);
  }
  return value;
}

/** Puts a value at a dotted path; the config loader guarantees no segment is `__proto__` and no path is a prefix of another. */
function setPath(out: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let target = out;
  for (let i = 0; i < path.length - 1; i++) {
    const segment = path[i]!;
    let next = target[segment];
    if (next === undefined) {
      next = {};
      target[segment] = next;
    }
    target = next as Record<string, unknown>;
  }
  target[path[path.length - 1]!] = value;
}

/**
 * JSONata throws plain objects with a code; turn them into one readable line. JSONata writes the
 * values involved (`value`, `value2`) into its messages, as JSON or as text; `redacted` puts
 * `<value>` in their place. `$error` (D3137) messages are the expression author's text, which may
 * be built from the row: redacted, they are withheld whole.
 */
function describeJsonataError(err: unknown, redacted: boolean): string {
  const e = err as { message?: string; code?: string; value?: unknown; value2?: unknown };
  let text = e.message ?? String(err);
  if (redacted) {
    if (e.code === 'D3137') {
      text = 'the expression raised an error with $error (its text is in the rejects object)';
    } else {
      for (const v of [e.value, e.value2]) {
        if (v === undefined || v === null || typeof v === 'boolean') continue;
        for (const shown of new Set([JSON.stringify(v), String(v)]))
          if (shown && shown.length > 0) text = text.split(shown).join('<value>');
      }
    }
  }
  return e.code ? `${text} [${e.code}]` : text;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : `${typeof value} ${JSON.stringify(value)}`;
}
