import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findFeed, type FeedConfig } from '../../../lambdas/transformer/model.js';
import { loadPlatformConfig } from '../../../platform/config/load-config.js';
import { formatPatch, planDriftPatch, renameReads, type DriftPatch } from '../../../platform/onboarding/drift-patch.js';
import { runEngine } from '../../support/engine.js';

const REPO = join(import.meta.dirname, '../../..');

/** A copy of the repository's partners/ and mappings/: the patch is planned and applied there. */
function copyOfRepoConfig(): string {
  const root = mkdtempSync(join(tmpdir(), 'partner-etl-drift-'));
  cpSync(join(REPO, 'partners'), join(root, 'partners'), { recursive: true });
  cpSync(join(REPO, 'mappings'), join(root, 'mappings'), { recursive: true });
  return root;
}

function feedOf(root: string, id: string): FeedConfig {
  const { config, problems } = loadPlatformConfig(root);
  expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
  return findFeed(config, id)!;
}

function apply(root: string, patch: DriftPatch): void {
  for (const f of patch.files) writeFileSync(join(root, f.file), f.after);
}

/** Runs the file and returns the drift it reports (undefined when none). */
async function driftOf(feed: FeedConfig, csv: string) {
  const run = await runEngine(feed, csv, { key: `${feed.source.prefix}drifted.csv` });
  return { run, drift: run.outcome.warnings?.[0]?.drift };
}

describe('the patch for a drifted header', () => {
  it('acme/orders, columns renamed, added and reordered: the patched config loads, the file then runs SUCCEEDED with no drift', async () => {
    const root = copyOfRepoConfig();
    const before = readFileSync(join(root, 'partners/acme.yaml'), 'utf8');
    const feed = feedOf(root, 'acme/orders');
    const csv =
      'Order ID,order_date,customer_email,customer_name,amount,shipping,currency,coupon\n' +
      'A-1,2026-11-27,a@example.com,Ann,10,standard,eur,X\n';
    const { run, drift } = await driftOf(feed, csv);
    expect(run.outcome.status).toBe('FAILED'); // order_id is declared: the renamed column fails the file as before
    expect(drift).toMatchObject({
      renamed: [{ from: 'order_id', to: 'Order ID', match: 'normalised' }],
      added: ['coupon'],
      reordered: true,
    });

    const patch = planDriftPatch(root, feed, drift!);
    expect(patch.files.map((f) => f.file)).toEqual(['partners/acme.yaml']);
    expect(patch.notes).toEqual(['new column to map (and to add to orders.schema.json): coupon: coupon']);
    const diff = formatPatch(patch.files);
    expect(diff).toContain(
      '-      columns: [order_id, order_date, customer_email, customer_name, amount, currency, shipping]\n' +
        '+      columns: [Order ID, order_date, customer_email, customer_name, amount, shipping, currency, coupon]\n',
    );
    expect(diff).toContain('-      orderId: order_id\n+      orderId: "`Order ID`"\n');
    // Nothing else changes: two lines out, two lines in, the comments as they were.
    expect(diff.split('\n').filter((l) => /^[-+][^-+]/.test(l))).toHaveLength(4);
    expect(patch.files[0]!.after.replace('"`Order ID`"', 'order_id').replace(/columns: \[.*\]/, 'columns: []')).toBe(
      before.replace(/columns: \[order_id.*\]/, 'columns: []'),
    );

    apply(root, patch);
    const patched = feedOf(root, 'acme/orders');
    const again = await driftOf(patched, csv);
    expect(again.run.outcome).toMatchObject({ status: 'SUCCEEDED', rowsOut: 1 });
    expect(again.drift).toBeUndefined();
    expect(again.run.records[0]).toMatchObject({ orderId: 'A-1', amount: 10, currency: 'EUR' });
  });

  it('git apply takes the printed patch as it is', () => {
    const root = copyOfRepoConfig();
    const feed = feedOf(root, 'acme/orders');
    const patch = planDriftPatch(root, feed, {
      header: ['ORDER_ID', 'order_date', 'customer_email', 'customer_name', 'amount', 'currency', 'shipping'],
      renamed: [{ from: 'order_id', to: 'ORDER_ID', match: 'normalised' }],
      added: [],
      missing: [],
      reordered: false,
    });
    const file = join(root, 'fix.patch');
    writeFileSync(file, formatPatch(patch.files));
    const applied = spawnSync('git', ['apply', '--unsafe-paths', '--directory=.', file], { cwd: root, encoding: 'utf8' });
    expect(applied.stderr).toBe('');
    expect(applied.status).toBe(0);
    expect(readFileSync(join(root, 'partners/acme.yaml'), 'utf8')).toBe(patch.files[0]!.after);
  });

  it('acme/customers (mappingFile, no declared columns): the .jsonata file is patched on the syntax tree, names in strings untouched', async () => {
    const root = copyOfRepoConfig();
    const feed = feedOf(root, 'acme/customers');
    const sample = readFileSync(join(root, 'mappings/acme/customers/samples/week-48.csv'), 'utf8');
    const csv = sample.replace('first_name', 'First Name').replace('marketing_opt_in', 'Marketing-Opt-In');
    const { run, drift } = await driftOf(feed, csv);
    expect(run.outcome.errors[0]).toMatchObject({ code: 'MISSING_COLUMNS' });
    expect(drift?.renamed.map((r) => [r.from, r.to])).toEqual([
      ['marketing_opt_in', 'Marketing-Opt-In'], // in the order the mapping reads them
      ['first_name', 'First Name'],
    ]);
    const patch = planDriftPatch(root, feed, drift!);
    expect(patch.files.map((f) => f.file)).toEqual(['mappings/acme/customers.jsonata']);
    const after = patch.files[0]!.after;
    expect(after).toContain('"first": $trim(`First Name`)');
    expect(after).toContain('$trim(`First Name`) & " " & $trim(last_name)');
    expect(after).toContain('$lowercase(`Marketing-Opt-In`)');
    expect(after).toContain('"name": {'); // object keys are not columns

    apply(root, patch);
    const again = await driftOf(feedOf(root, 'acme/customers'), csv);
    expect(again.run.outcome).toMatchObject({ status: 'SUCCEEDED', rowsRejected: 0 });
    expect(again.drift).toBeUndefined();
  });

  it('a missing column with no rename is a note, not a change; a fuzzy rename asks to be checked', () => {
    const root = copyOfRepoConfig();
    const feed = feedOf(root, 'acme/orders');
    const patch = planDriftPatch(root, feed, {
      header: ['order_id', 'order_date', 'customer_email', 'customer_name', 'ammount', 'currency'],
      renamed: [{ from: 'amount', to: 'ammount', match: 'fuzzy' }],
      added: [],
      missing: ['shipping'],
      reordered: false,
    });
    expect(patch.notes).toEqual([
      '"amount" -> "ammount" was found by the closest name: check it',
      '"shipping" is not in the file and no rename was found: the partner must send it, or it goes in csv.optionalColumns if files may lack it',
    ]);
    expect(formatPatch(patch.files)).toContain('+      amount: $number(ammount)\n');
    expect(formatPatch(patch.files)).toContain(
      '+      columns: [order_id, order_date, customer_email, customer_name, ammount, currency, shipping]\n',
    );
  });

  it('refuses a drift that was cut to its bounds', () => {
    const root = copyOfRepoConfig();
    expect(() =>
      planDriftPatch(root, feedOf(root, 'acme/orders'), {
        header: [],
        renamed: [],
        added: [],
        missing: [],
        reordered: true,
        truncated: true,
      }),
    ).toThrow(/cut to its bounds/);
  });
});

describe('renameReads', () => {
  const renames = new Map([
    ['a', 'New A'],
    ['b', 'b2'],
    ['c', 'has`tick'],
  ]);
  it.each([
    ['a', '`New A`'],
    ['$number(a) + $number(`a`)', '$number(`New A`) + $number(`New A`)'],
    ['$.b & $$.b', '$.b2 & $$.b2'],
    ['$lookup($, "a")', '$lookup($, "New A")'],
    ['items.a', 'items.a'], // a later step reads a field of `items`, not a column
    ['"a"', '"a"'], // a string literal
    ['c', '$lookup($, "has`tick")'],
  ])('%s -> %s', (expression, expected) => {
    const notes: string[] = [];
    expect(renameReads(expression, renames, 'test', notes)).toBe(expected);
    expect(notes).toEqual([]);
  });

  it('leaves `$.c` (a $lookup cannot follow a dot) and says so', () => {
    const notes: string[] = [];
    expect(renameReads('$.c', renames, 'mapping x', notes)).toBe('$.c');
    expect(notes).toEqual(['mapping x: the read of "c" at offset 2 is not rewritten: rename it by hand']);
  });
});
