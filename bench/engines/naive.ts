/**
 * The naive engine, the baseline: csv-parse objects -> one `expression.evaluate()` per row -> Ajv ->
 * NDJSON. The same mapping file, schema and Ajv set-up as the bench feed; empty cells stay "" as
 * the feed's `nullValues: []` keeps them.
 */
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { parse } from 'csv-parse';
import jsonata from 'jsonata';
import { createSchemaAjv } from '../../lambdas/transformer/engine/schema.js';

const [file, out] = process.argv.slice(2) as [string, string];
const config = join(import.meta.dirname, '../config/mappings/bench');
const started = performance.now();
const expression = jsonata(readFileSync(join(config, 'events.jsonata'), 'utf8'));
const validate = createSchemaAjv().compile(JSON.parse(readFileSync(join(config, 'events.schema.json'), 'utf8')));
const output = createWriteStream(out);
let rows = 0;
for await (const row of createReadStream(file).pipe(parse({ columns: true, bom: true }))) {
  rows++;
  const record = await expression.evaluate(row);
  if (!validate(record)) continue;
  if (!output.write(`${JSON.stringify(record)}\n`)) await new Promise<void>((resolve) => output.once('drain', () => resolve()));
}
output.end();
await finished(output);
const seconds = (performance.now() - started) / 1000;
process.stdout.write(JSON.stringify({ code: 0, rows, seconds, rssMiB: process.resourceUsage().maxRSS / 1024 }));
