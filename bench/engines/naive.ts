/**
 * The naive engine, the baseline: decode (iconv-lite) -> csv-parse objects -> one
 * `expression.evaluate()` per field or per row -> Ajv -> NDJSON. The same feed config, mapping,
 * schema and Ajv set-up as the engine; `$source.line` is csv-parse's line count at the record's end
 * (the start line for the bench files, which have no embedded line breaks where a mapping reads it).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { basename } from 'node:path';
import { finished } from 'node:stream/promises';
import { parse } from 'csv-parse';
import iconv from 'iconv-lite';
import jsonata from 'jsonata';
import { findFeed } from '../../lambdas/transformer/model.js';
import { createSchemaAjv } from '../../lambdas/transformer/engine/schema.js';
import { requireValidConfig } from '../../platform/config/load-config.js';
import { CASES } from '../cases.js';

const [name, file, out] = process.argv.slice(2) as [string, string, string];
const started = performance.now();
const bench = CASES.find((c) => c.name === name)!;
const feed = findFeed(requireValidConfig(bench.root), bench.feed)!;
const csv = feed.csv;
const validate = createSchemaAjv().compile(feed.schema);
const fields =
  feed.mapping.kind === 'fields'
    ? feed.mapping.fields.map((f) => ({ path: f.path, expression: jsonata(f.expression) }))
    : [{ path: [] as readonly string[], expression: jsonata(feed.mapping.expression) }];
const key = `${feed.source.prefix}${basename(file)}`;
const nulls = new Set(csv.nullValues);

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
});
const output = createWriteStream(out);
let rows = 0;
for await (const { record, info } of input.pipe(parser) as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
  rows++;
  const row: Record<string, string> = {};
  for (const [column, cell] of Object.entries(record)) if (!nulls.has(cell)) row[column] = cell;
  const bindings = { source: { partner: feed.partner, feed: feed.id, key, line: info.lines, record: rows } };
  let result: Record<string, unknown> = {};
  try {
    for (const { path, expression } of fields) {
      const value = await expression.evaluate(row, bindings);
      if (path.length === 0) result = value as Record<string, unknown>;
      else if (value !== undefined) setPath(result, path, value);
    }
  } catch {
    continue; // a mapping error rejects the row
  }
  if (!validate(result)) continue;
  if (!output.write(`${JSON.stringify(result)}\n`)) await new Promise<void>((resolve) => output.once('drain', () => resolve()));
}
output.end();
await finished(output);
const seconds = (performance.now() - started) / 1000;
process.stdout.write(JSON.stringify({ code: 0, rows, seconds, rssMiB: process.resourceUsage().maxRSS / 1024, cpuSeconds: cpuSeconds() }));

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let at = target;
  for (const segment of path.slice(0, -1)) at = (at[segment] ??= {}) as Record<string, unknown>;
  at[path[path.length - 1]!] = value;
}

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}
