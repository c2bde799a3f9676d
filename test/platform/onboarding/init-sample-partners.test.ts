import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { findColumnReads } from '../../../lambdas/transformer/engine/column-reads.js';
import { findFeed, type FeedConfig } from '../../../lambdas/transformer/model.js';
import { requireValidConfig } from '../../../platform/config/load-config.js';
import { planInit } from '../../../platform/cli/init-command.js';
import type { FeedDraft } from '../../../platform/onboarding/draft-feed.js';

const REPO = join(import.meta.dirname, '../../..');
const config = requireValidConfig(REPO);

/** Output fields and the columns each reads: field by field, or the pairs of a whole-object expression. */
function fieldsOf(feed: FeedConfig): { path: string[]; columns: string[] }[] {
  if (feed.mapping.kind === 'fields') {
    return feed.mapping.fields.map((f) => ({
      path: [...f.path],
      columns: [...new Set(findColumnReads(f.expression).reads.map((r) => r.column))],
    }));
  }
  type Node = { type: string; value?: unknown; lhs?: Node | [Node, Node][]; rhs?: Node; expressions?: Node[]; steps?: Node[] };
  const out: { path: string[]; columns: string[] }[] = [];
  const bound = new Map<string, string[]>(); // $optIn := ... in the block: the columns behind a variable
  const readsOf = (node: Node): string[] => {
    const names = new Set<string>();
    const visit = (n: unknown) => {
      if (!n || typeof n !== 'object') return;
      const m = n as Node;
      if (m.type === 'path' && m.steps?.[0]?.type === 'name') names.add(String(m.steps[0].value));
      if (m.type === 'variable') for (const c of bound.get(String(m.value)) ?? []) names.add(c);
      for (const v of Object.values(m)) visit(v);
    };
    visit(node);
    return [...names];
  };
  const walk = (node: Node, path: string[]): void => {
    if (node.type === 'block') {
      for (const e of node.expressions!.slice(0, -1)) if (e.type === 'bind') bound.set(String((e.lhs as Node).value), readsOf(e.rhs!));
      return walk(node.expressions![node.expressions!.length - 1]!, path);
    }
    if (node.type === 'unary' && node.value === '{') {
      for (const [key, value] of node.lhs as [Node, Node][]) walk(value, [...path, String(key.value)]);
      return;
    }
    out.push({ path, columns: readsOf(node) });
  };
  walk(jsonata(feed.mapping.expression).ast() as Node, []);
  return out;
}

/** type, format, enum or const of a schema property: what init infers (patterns and bounds are not inferred). */
function kindOf(schema: Record<string, unknown>, path: readonly string[]): string {
  let node: Record<string, unknown> | undefined = schema;
  for (const segment of path) node = (node?.properties as Record<string, Record<string, unknown>> | undefined)?.[segment];
  if (!node) return 'absent';
  if ('const' in node) return `const ${JSON.stringify(node.const)}`;
  const enumPart = Array.isArray(node.enum) ? ` enum ${JSON.stringify(node.enum)}` : '';
  return `${String(node.type)}${node.format ? ` ${String(node.format)}` : ''}${enumPart}`;
}

/** Every way the drafted feed differs from the hand-written one in dialect, encoding and types. */
function differences(hand: FeedConfig, draft: FeedDraft): string[] {
  const out: string[] = [];
  for (const key of ['delimiter', 'quote', 'escape', 'encoding', 'header', 'skipLines', 'trim'] as const) {
    if (hand.csv[key] !== draft.csv[key])
      out.push(`csv.${key}: hand-written ${JSON.stringify(hand.csv[key])}, init ${JSON.stringify(draft.csv[key])}`);
  }
  if ([...hand.csv.nullValues].sort().join('|') !== [...draft.csv.nullValues].sort().join('|')) {
    out.push(`csv.nullValues: hand-written ${JSON.stringify(hand.csv.nullValues)}, init ${JSON.stringify(draft.csv.nullValues)}`);
  }
  if (hand.source.suffix !== draft.suffix) out.push(`source.suffix: hand-written ${hand.source.suffix}, init ${draft.suffix}`);
  const fields = fieldsOf(hand);
  draft.columns.forEach((c, j) => {
    // without a header the hand-written file names the columns; init numbers them
    const column = hand.csv.header ? c.column : hand.csv.columns![j]!;
    const own = fields.filter((f) => f.columns.length === 1 && f.columns[0] === column);
    const drafted = kindOf(draft.schema, [c.output]);
    if (own.length === 0) {
      out.push(`${column}: no hand-written field maps it alone; init: ${drafted}`);
      return;
    }
    for (const f of own) {
      const handKind = kindOf(hand.schema, f.path);
      if (handKind !== drafted) out.push(`${column}: hand-written ${f.path.join('.')} is ${handKind}, init ${drafted}`);
    }
  });
  return out;
}

/** The differences, each with why, per sample feed. Everything not listed is the same: dialect, encoding and the type of every column. */
const EXPECTED: Record<string, { sample: string; differences: string[] }> = {
  'acme/orders': {
    sample: 'mappings/acme/orders/samples/2026-11-27.csv',
    differences: [
      // " Jane.Doe@Example.com " has spaces: init trims in the csv block, the hand-written mapping trims in the expression
      'csv.trim: hand-written false, init true',
      // eur, usd, gbp, EUR: four spellings in five rows is not an enum; the hand-written mapping uppercases them into one
      'currency: hand-written currency is string enum ["EUR","USD","GBP"], init string',
      // a derived field: express = (shipping = "express")
      'shipping: hand-written express is boolean, init string enum ["express","standard"]',
    ],
  },
  'acme/customers': {
    sample: 'mappings/acme/customers/samples/week-48.csv',
    differences: [
      // " Jane " has spaces: init trims in the csv block, the hand-written mapping with $trim
      'csv.trim: hand-written false, init true',
      // tags become an array by $split in the hand-written mapping
      'tags: hand-written tags is array, init string',
    ],
  },
  'globex/shipments': {
    sample: 'mappings/globex/shipments/samples/2026-11-27T10.csv',
    differences: [
      // the sample file is named .csv; the feed's files arrive as .txt
      'source.suffix: hand-written .txt, init .csv',
      // dhl, ups, fedex, DPD in four rows: not an enum; the hand-written mapping uppercases them
      'carrier: hand-written carrier is string enum ["DHL","UPS","FEDEX","DPD"], init string',
      // a derived field: heavy = weight over 1000 kg
      'weight_kg: hand-written heavy is boolean, init number',
    ],
  },
  'muller/invoices': {
    sample: 'mappings/muller/invoices/samples/2026-11.csv',
    differences: [
      // one value (EUR) in four rows: init writes an enum of one, the hand-written schema a const
      'Währung: hand-written currency is const "EUR", init string enum ["EUR"]',
    ],
  },
};

describe("init on each sample partner's own sample", () => {
  for (const [name, { sample, differences: expected }] of Object.entries(EXPECTED)) {
    it(`${name}: the same dialect, encoding and column types as the hand-written feed, but for the differences listed`, async () => {
      const hand = findFeed(config, name)!;
      const root = mkdtempSync(join(tmpdir(), 'partner-etl-init-'));
      const plan = await planInit({ root, target: name, sample: join(REPO, sample), rows: 20, yes: false, owner: 'data@example.com' });
      expect(plan.outcome).toMatchObject({ status: 'SUCCEEDED', rowsRejected: 0 });
      expect(differences(hand, plan.draft)).toEqual(expected);
    });
  }
});
