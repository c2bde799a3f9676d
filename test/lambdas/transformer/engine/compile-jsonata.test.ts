import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { compileJsonata, Fallback } from '../../../../lambdas/transformer/engine/compile-jsonata.js';
import { listFeeds } from '../../../../lambdas/transformer/model.js';
import { requireValidConfig } from '../../../../platform/config/load-config.js';

const SUITE = join(import.meta.dirname, '../../../conformance/jsonata');
const REPO = join(import.meta.dirname, '../../../..');

interface Case {
  expr?: string;
  data?: unknown;
  dataset?: string | null;
  bindings?: Record<string, unknown>;
  timelimit?: number;
  depth?: number;
  result?: unknown;
  undefinedResult?: boolean;
  code?: string;
}

function loadCases(): { name: string; c: Case }[] {
  const out: { name: string; c: Case }[] = [];
  for (const group of readdirSync(join(SUITE, 'groups')).sort()) {
    for (const file of readdirSync(join(SUITE, 'groups', group))
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const parsed = JSON.parse(readFileSync(join(SUITE, 'groups', group, file), 'utf8')) as Case | Case[];
      [parsed].flat().forEach((c, i) => {
        // some cases keep their expression in a file beside them
        const exprFile = (c as { 'expr-file'?: string })['expr-file'];
        const expr = exprFile ? readFileSync(join(SUITE, 'groups', group, exprFile), 'utf8') : c.expr;
        out.push({ name: `${group}/${file}${Array.isArray(parsed) ? `#${i}` : ''}`, c: { ...c, expr } });
      });
    }
  }
  return out;
}

const datasets = new Map<string, unknown>();
function inputOf(c: Case): unknown {
  if (c.data !== undefined) return c.data;
  if (!c.dataset) return undefined;
  if (!datasets.has(c.dataset)) datasets.set(c.dataset, JSON.parse(readFileSync(join(SUITE, 'datasets', `${c.dataset}.json`), 'utf8')));
  return structuredClone(datasets.get(c.dataset));
}

type Outcome = { value: unknown } | { code: string };

async function interpret(c: Case): Promise<Outcome> {
  try {
    return { value: await jsonata(c.expr!).evaluate(inputOf(c), c.bindings) };
  } catch (err) {
    return { code: String((err as { code?: string }).code) };
  }
}

/** The compiled closure, falling back to the interpreter exactly as the engine does. */
async function compiled(c: Case): Promise<{ outcome: Outcome; fellBack: boolean } | undefined> {
  const compiledExpr = compileJsonata(c.expr!);
  if (!compiledExpr) return undefined;
  try {
    return { outcome: { value: compiledExpr.evaluate(inputOf(c), c.bindings) }, fellBack: false };
  } catch (err) {
    if (!(err instanceof Fallback)) return { outcome: { code: `unexpected ${String(err)}` }, fellBack: false };
    return { outcome: await interpret(c), fellBack: true };
  }
}

/** Arrays compared as plain arrays: JSONata tags sequences with extra properties. */
function plain(outcome: Outcome): unknown {
  return 'value' in outcome ? JSON.parse(JSON.stringify({ v: outcome.value }) ?? '{}').v : outcome;
}

describe("JSONata's own test suite", () => {
  it("gives the interpreter's result or error on every case the compiler accepts", async () => {
    expect(existsSync(SUITE)).toBe(true);
    const all = loadCases();
    // cases with a time limit test the interpreter's runaway guard: the compiler declines every construct that can run away
    const cases = all.filter(({ c }) => typeof c.expr === 'string' && c.timelimit === undefined);
    let accepted = 0;
    let declined = 0;
    let fellBack = 0;
    let passed = 0;
    const mismatches: string[] = [];
    for (const { name, c } of cases) {
      const fast = await compiled(c);
      if (!fast) {
        declined++;
        continue;
      }
      accepted++;
      if (fast.fellBack) fellBack++;
      const reference = await interpret(c);
      const same =
        JSON.stringify(plain(fast.outcome)) === JSON.stringify(plain(reference)) &&
        ('value' in fast.outcome ? fast.outcome.value === undefined : true) ===
          ('value' in reference ? reference.value === undefined : true);
      if (same) passed++;
      else
        mismatches.push(
          `${name}: ${c.expr} -> compiled ${JSON.stringify(plain(fast.outcome))}, interpreter ${JSON.stringify(plain(reference))}`,
        );
    }
    // The figures the issue asks for, printed with the test run.
    console.log(
      `JSONata suite: ${all.length} cases, ${all.length - cases.length} with a time limit left to the interpreter; of ${cases.length}, ${accepted} accepted by the compiler (${accepted - fellBack} evaluated compiled, ${fellBack} deferred at run time), ${declined} declined, ${passed} passed`,
    );
    expect(mismatches).toEqual([]);
    expect(accepted).toBeGreaterThan(200);
  }, 120_000);
});

describe('differential: compiled and interpreted sample mappings agree on random rows', () => {
  const feeds = listFeeds(requireValidConfig(REPO));
  const expressions = feeds.flatMap((f) =>
    f.mapping.kind === 'fields'
      ? f.mapping.fields.map((m) => ({ feed: `${f.partner}/${f.id}`, expr: m.expression, columns: f.csv.columns ?? [] }))
      : [{ feed: `${f.partner}/${f.id}`, expr: f.mapping.expression, columns: f.csv.columns ?? [] }],
  );

  it('compiles the sample mappings except where they need the interpreter', () => {
    const declined = expressions.filter((e) => !compileJsonata(e.expr)).map((e) => `${e.feed}: ${e.expr.trim().split('\n')[0]}`);
    // day-first dates need $toMillis/$fromMillis with pictures and $error: interpreter only
    expect(declined).toEqual(['muller/invoices: (']);
  });

  const cell = fc.oneof(
    fc.constant(undefined),
    fc.string({ maxLength: 8 }),
    fc.constantFrom('0', '12.5', '-3', '1e3', 'abc', ' Y ', 'yes', '1.234,56', 'A@B.C', 'express', 'NULL', ''),
  );
  for (const e of expressions.filter((x) => compileJsonata(x.expr))) {
    it(`${e.feed}: ${e.expr.trim().split('\n')[0]}`, async () => {
      const names = [
        ...new Set([
          ...e.columns,
          'amount',
          'currency',
          'customer_email',
          'customer_name',
          'shipping',
          'order_id',
          'order_date',
          'weight_kg',
          'destination',
          'carrier',
          'notes',
          'shipped_at',
          'shipment_id',
          'first_name',
          'last_name',
          'email',
          'country',
          'signup_date',
          'marketing_opt_in',
          'tags',
          'customer_id',
          'Betrag',
          'Kunde',
          'Rechnungsnr',
          'Bemerkung',
          'Währung',
        ]),
      ];
      const compiledExpr = compileJsonata(e.expr)!;
      const interpreter = jsonata(e.expr);
      await fc.assert(
        fc.asyncProperty(fc.array(cell, { minLength: names.length, maxLength: names.length }), async (cells) => {
          const row: Record<string, string> = Object.create(null);
          names.forEach((n, i) => {
            if (cells[i] !== undefined) row[n] = cells[i]!;
          });
          const source = { partner: 'p', feed: 'f', key: 'k', line: 2, record: 1 };
          let reference: Outcome;
          try {
            reference = { value: await interpreter.evaluate(row, { source }) };
          } catch (err) {
            reference = { code: String((err as { code?: string }).code) };
          }
          let fast: Outcome;
          try {
            fast = { value: compiledExpr.evaluate(row, { source }) };
          } catch (err) {
            if (!(err instanceof Fallback)) throw err;
            return; // deferred to the interpreter: the same by construction
          }
          expect(plain(fast)).toEqual(plain(reference));
        }),
        { numRuns: 300 },
      );
    });
  }
});

describe('differential: date built-ins without pictures', () => {
  it('$fromMillis and $toMillis agree with the interpreter on any instant and any timestamp text', async () => {
    const fromMillis = compileJsonata('$fromMillis(m)')!;
    const toMillis = compileJsonata('$toMillis(t)')!;
    const iso = fc
      .date({ min: new Date(-62_000_000_000_000), max: new Date(253_402_300_799_999), noInvalidDate: true })
      .map((d) => d.toISOString());
    const text = fc.oneof(
      iso,
      iso.map((t) => t.slice(0, 10)),
      iso.map((t) => t.replace('Z', '+02:00')),
      fc.string({ maxLength: 12 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: -62_000_000_000_000, max: 253_402_300_799_999 }), text, async (m, t) => {
        for (const [compiledExpr, source, input] of [
          [fromMillis, '$fromMillis(m)', { m }],
          [toMillis, '$toMillis(t)', { t }],
        ] as const) {
          let reference: Outcome;
          try {
            reference = { value: await jsonata(source).evaluate(input) };
          } catch (err) {
            reference = { code: String((err as { code?: string }).code) };
          }
          try {
            expect({ value: compiledExpr.evaluate(input) }).toEqual(reference);
          } catch (err) {
            if (!(err instanceof Fallback)) throw err;
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('$now() and $millis() read one instant per evaluation', () => {
    const both = compileJsonata('[$millis(), $now(), $millis()]')!;
    const [a, iso, b] = both.evaluate({}) as [number, string, number];
    expect(a).toBe(b);
    expect(Date.parse(iso)).toBe(a);
  });
});

describe('safety', () => {
  it.each(['"\\"); process.exit(1); ("', '"${process.exit(1)}"', '"*/ process.exit(1) /*"', '"a\\\\nb" & "`"', '"\\u2028"'])(
    'treats the string literal %s as data, never as code',
    async (literal) => {
      const compiledExpr = compileJsonata(`${literal} & ""`)!;
      expect(compiledExpr.evaluate({})).toBe(await jsonata(`${literal} & ""`).evaluate({}));
    },
  );

  it('declines what could run away (lambdas, recursion, ranges) so the guarded interpreter runs it', () => {
    expect(compileJsonata('( $f := function($n) { $f($n + 1) }; $f(0) )')).toBeUndefined();
    expect(compileJsonata('[1..10000000]')).toBeUndefined();
    expect(compileJsonata('$map([1,2], function($v) { $v * 2 })')).toBeUndefined();
  });
});
