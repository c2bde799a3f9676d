/**
 * The interpreter fallback rate per expression: every mapping expression of the case's feed, run
 * compiled on every row the engine would map (up to a limit), counting the rows it defers to the
 * interpreter (a declined expression defers every row). Rows come from csv-parse, as the naive
 * engine reads them.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { parse } from 'csv-parse';
import iconv from 'iconv-lite';
import { compileJsonata } from '../../lambdas/transformer/engine/compile-jsonata.js';
import { findFeed } from '../../lambdas/transformer/model.js';
import { requireValidConfig } from '../../platform/config/load-config.js';
import { CASES } from '../cases.js';

const [name, file, limitArg] = process.argv.slice(2) as [string, string, string];
const limit = Number(limitArg);
const bench = CASES.find((c) => c.name === name)!;
const feed = findFeed(requireValidConfig(bench.root), bench.feed)!;
const csv = feed.csv;
const expressions =
  feed.mapping.kind === 'fields'
    ? feed.mapping.fields.map((f) => ({ field: f.name, expression: f.expression }))
    : [{ field: '(whole record)', expression: feed.mapping.expression }];
const probes = expressions.map((e) => ({ ...e, compiled: compileJsonata(e.expression), fallbacks: 0 }));
const nulls = new Set(csv.nullValues);
const key = `${feed.source.prefix}${basename(file)}`;

let input: NodeJS.ReadableStream = createReadStream(file);
if (csv.encoding !== 'utf-8') input = input.pipe(iconv.decodeStream(csv.encoding === 'windows-1252' ? 'win1252' : csv.encoding));
const parser = parse({
  delimiter: csv.delimiter,
  quote: csv.quote || false,
  escape: csv.escape || csv.quote || null,
  from_line: csv.skipLines + 1,
  columns: csv.header ? true : [...csv.columns!],
  trim: csv.trim,
  bom: true,
  info: true,
  skip_empty_lines: true,
  to: limit,
});
let rows = 0;
for await (const { record, info } of input.pipe(parser) as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
  rows++;
  const row: Record<string, string> = {};
  for (const [column, cell] of Object.entries(record)) if (!nulls.has(cell)) row[column] = cell;
  const bindings = { source: { partner: feed.partner, feed: feed.id, key, line: info.lines, record: rows } };
  for (const probe of probes) {
    if (!probe.compiled) {
      probe.fallbacks++;
      continue;
    }
    try {
      if (typeof probe.compiled.evaluate(row, bindings) === 'function') probe.fallbacks++;
    } catch {
      probe.fallbacks++;
    }
  }
}
process.stdout.write(
  JSON.stringify({
    rows,
    expressions: probes.map((p) => ({
      field: p.field,
      expression: p.expression.trim().split('\n')[0]!.slice(0, 80),
      compiled: p.compiled !== undefined,
      fallbackRate: rows === 0 ? 0 : p.fallbacks / rows,
    })),
  }),
);
