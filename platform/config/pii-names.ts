import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import type { CsvConfig, MappingConfig } from '../../lambdas/transformer/model.js';
import { closestColumn } from '../../lambdas/transformer/engine/column-names.js';
import { findMappingColumnReads } from '../../lambdas/transformer/engine/column-reads.js';
import { CsvTokenizer } from '../../lambdas/transformer/engine/csv-tokenizer.js';
import { pickEncoding } from '../../lambdas/transformer/engine/decode.js';
import { fieldTree, expressionTree, type ProducedTree } from './required-fields.js';
import { whyNotContained } from './contained-files.js';

/** Bytes of a sample read to find its header: a header longer than this is not a header. */
const HEADER_BYTES = 64 * 1024;

/** What a `pii` entry may name: output fields (dotted) and CSV columns. */
export interface PiiCandidates {
  readonly fields: ReadonlySet<string>;
  readonly columns: ReadonlySet<string>;
}

/**
 * The names a feed's `pii` entries may use. Output fields: the mapping's fields (and the objects
 * that hold them), the keys of a whole-object expression, the schema's properties at every level.
 * Columns: `csv.columns` and `csv.optionalColumns`, the columns the mapping reads, and the header
 * of each golden sample (a column the mapping never reads still appears in a rejected row's raw text).
 */
export function piiCandidates(input: {
  readonly mapping: MappingConfig;
  readonly schema: Record<string, unknown>;
  readonly csv: CsvConfig;
  readonly sampleHeaders: readonly (readonly string[])[];
}): PiiCandidates {
  const fields = new Set<string>();
  let tree: ProducedTree;
  try {
    tree = input.mapping.kind === 'fields' ? fieldTree(input.mapping.fields) : expressionTree(input.mapping.expression);
  } catch {
    tree = undefined; // an expression that does not parse is reported where it is loaded
  }
  addTree(tree, '', fields);
  addSchemaProperties(input.schema, '', fields, 0);
  const columns = new Set<string>([...(input.csv.columns ?? []), ...(input.csv.optionalColumns ?? []), ...input.sampleHeaders.flat()]);
  try {
    for (const column of findMappingColumnReads(input.mapping).columns) columns.add(column);
  } catch {
    // as above
  }
  return { fields, columns };
}

/**
 * Why a `pii` entry protects nothing, or undefined when it names a known field or column. A typo
 * (`pii: [emial]`) would otherwise mask nothing, silently.
 */
export function whyUnknownPii(name: string, known: PiiCandidates): string | undefined {
  if (known.fields.has(name) || known.columns.has(name)) return undefined;
  const closest = closestColumn(name, [...known.fields, ...known.columns]);
  const hint = closest ? `; did you mean ${JSON.stringify(closest.name)}?` : '';
  return (
    `pii names ${JSON.stringify(name)}, which is neither an output field (the mapping's fields, the schema's properties) ` +
    `nor a column (csv.columns, the columns the mapping reads, a sample's header), so it would mask nothing${hint}`
  );
}

function addTree(tree: ProducedTree, prefix: string, into: Set<string>): void {
  if (!tree) return;
  for (const [name, child] of tree) {
    const path = prefix + name;
    into.add(path);
    if (child instanceof Map) addTree(child, `${path}.`, into);
  }
}

/** Schema `properties`, nested objects included (at most 32 levels: a schema is configuration, not data). */
function addSchemaProperties(schema: unknown, prefix: string, into: Set<string>, depth: number): void {
  if (depth > 32 || schema === null || typeof schema !== 'object') return;
  const properties = (schema as Record<string, unknown>).properties;
  if (properties === null || typeof properties !== 'object') return;
  for (const [name, sub] of Object.entries(properties)) {
    into.add(prefix + name);
    addSchemaProperties(sub, `${prefix}${name}.`, into, depth + 1);
  }
}

/**
 * The header of each golden sample of a feed that has one (`header: true`): its first record after
 * `skipLines`, read from the first 64 KiB in the feed's encoding. A sample that is a link, lies outside
 * `mappings/<partner>/` or cannot be decoded is skipped here; the golden run reports it.
 */
export function sampleHeaders(root: string, partner: string, samples: readonly string[], csv: CsvConfig): string[][] {
  if (!csv.header) return [];
  const headers: string[][] = [];
  for (const rel of samples) {
    if (whyNotContained(root, rel, `mappings/${partner}`)) continue;
    try {
      const bytes = readHead(join(root, rel));
      const { encoding, bomLength } = pickEncoding(bytes, csv.encoding);
      const text = iconv.decode(bytes.subarray(bomLength), encoding);
      const tokenizer = new CsvTokenizer({ ...csv, maxRecordChars: HEADER_BYTES });
      const [first] = [...tokenizer.push(text), ...tokenizer.end()];
      if (first && !first.error) headers.push(first.fields);
    } catch {
      // an undecodable sample fails its golden case with the engine's own message
    }
  }
  return headers;
}

function readHead(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const bytes = Buffer.alloc(HEADER_BYTES);
    return bytes.subarray(0, readSync(fd, bytes, 0, HEADER_BYTES, 0));
  } finally {
    closeSync(fd);
  }
}
