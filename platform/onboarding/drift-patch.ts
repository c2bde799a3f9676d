/**
 * The config change a drifted header calls for, as a patch on the partner's files: columns renamed
 * in `csv.columns`, `csv.optionalColumns`, `pii` and every mapping expression that reads them (found
 * on the JSONata syntax tree, never by text search), new columns added to `csv.columns`, and
 * `csv.columns` listed in the file's order. Only the changed YAML nodes are rewritten: comments
 * and the rest of the file stay byte for byte. What a patch cannot decide (a column that is gone,
 * how to map a new column) is told in notes.
 */
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Document, type Scalar } from 'yaml';
import { findColumnReads } from '../../lambdas/transformer/engine/column-reads.js';
import type { HeaderDrift } from '../../lambdas/transformer/engine/header-drift.js';
import type { FeedConfig } from '../../lambdas/transformer/model.js';
import { lineDiff } from '../config/golden-diff.js';
import { columnReference, outputNames } from './infer-columns.js';

/** One file the patch changes, relative to the config root. */
export interface PatchedFile {
  readonly file: string;
  readonly before: string;
  readonly after: string;
}

export interface DriftPatch {
  readonly files: readonly PatchedFile[];
  /** What a person decides: renames found by the closest name, columns gone, new columns to map, reads not rewritten. */
  readonly notes: readonly string[];
}

/** Why no patch can be made (the drift was cut to its bounds, the partner file is not where it belongs). */
export class DriftPatchError extends Error {
  override readonly name = 'DriftPatchError';
}

type Path = readonly (string | number)[];

/** Plans the patch of `feed`'s config under `root` for `drift`. */
export function planDriftPatch(root: string, feed: FeedConfig, drift: HeaderDrift): DriftPatch {
  if (drift.truncated) {
    throw new DriftPatchError('the drift was cut to its bounds (a header of very many or very long names): change the config by hand');
  }
  const renames = new Map(drift.renamed.map((r) => [r.from, r.to]));
  const notes: string[] = [];
  for (const r of drift.renamed) {
    if (r.match === 'fuzzy') notes.push(`${JSON.stringify(r.from)} -> ${JSON.stringify(r.to)} was found by the closest name: check it`);
  }
  for (const name of drift.missing) {
    notes.push(
      `${JSON.stringify(name)} is not in the file and no rename was found: the partner must send it, or it goes in csv.optionalColumns if files may lack it`,
    );
  }
  if (drift.added.length > 0) {
    const names = outputNames(drift.added);
    notes.push(
      `new column${drift.added.length === 1 ? '' : 's'} to map (and to add to ${feed.schemaFile}): ` +
        drift.added.map((column, i) => `${names[i]}: ${columnReference(column)}`).join(', '),
    );
  }

  const partnerFile = `partners/${feed.partner}.yaml`;
  const before = readConfigFile(root, partnerFile);
  const doc = parseDocument(before);
  const feeds = doc.get('feeds', true);
  const index = isSeq(feeds) ? feeds.items.findIndex((f) => isMap(f) && f.get('id') === feed.id) : -1;
  if (index < 0) throw new DriftPatchError(`${partnerFile} has no feed ${JSON.stringify(feed.id)}`);
  const at = (...path: (string | number)[]): Path => ['feeds', index, ...path];
  const changed: Path[] = [];

  const declared = feed.csv.columns;
  if (declared) {
    const wanted = new Set([...declared.map((c) => renames.get(c) ?? c), ...drift.added]);
    const inFileOrder = drift.header.filter((name) => wanted.has(name));
    const absent = [...wanted].filter((name) => !inFileOrder.includes(name));
    replaceList(doc, at('csv', 'columns'), [...inFileOrder, ...absent], changed);
  }
  const renameIn = (path: Path, names: readonly string[] | undefined, isColumn: (name: string) => boolean = () => true) => {
    if (names?.some((n) => renames.has(n) && isColumn(n))) {
      replaceList(
        doc,
        path,
        names.map((n) => (isColumn(n) ? (renames.get(n) ?? n) : n)),
        changed,
      );
    }
  };
  renameIn(at('csv', 'optionalColumns'), feed.csv.optionalColumns);
  // `pii` names output fields or columns: only a name that is no output field is a column.
  const outputFields = new Set(feed.mapping.kind === 'fields' ? feed.mapping.fields.map((f) => f.name) : []);
  renameIn(at('pii'), feed.pii, (name) => !outputFields.has(name));

  const files: PatchedFile[] = [];
  if (feed.mapping.kind === 'fields') {
    const mapping = doc.getIn(at('mapping'), true);
    if (isMap(mapping)) {
      for (const pair of mapping.items) {
        if (!isScalar(pair.key) || !isScalar(pair.value) || typeof pair.value.value !== 'string') continue;
        const field = String(pair.key.value);
        const rewritten = renameReads(pair.value.value, renames, `mapping ${field}`, notes);
        if (rewritten === pair.value.value) continue;
        (pair.value as Scalar).value = rewritten;
        changed.push(at('mapping', field));
      }
    }
  } else {
    const file = `mappings/${feed.partner}/${feed.mapping.file}`;
    const text = readConfigFile(root, file);
    const after = renameReads(text, renames, file, notes);
    if (after !== text) files.push({ file, before: text, after });
  }
  if (changed.length > 0) files.unshift({ file: partnerFile, before, after: spliceNodes(before, doc, changed) });
  return { files, notes };
}

/** A unified diff of the files, as `git apply` and `patch -p1` take it. */
export function formatPatch(files: readonly PatchedFile[]): string {
  return files.map((f) => [`--- a/${f.file}`, `+++ b/${f.file}`, ...lineDiff(f.before, f.after, 3)].join('\n') + '\n').join('');
}

function readConfigFile(root: string, file: string): string {
  const path = join(root, file);
  if (!existsSync(path) || !lstatSync(path).isFile()) throw new DriftPatchError(`${file} is not a regular file under ${root}`);
  return readFileSync(path, 'utf8');
}

/** Sets the list at `path`, in the style (flow or block) it was written in. */
function replaceList(doc: Document, path: Path, items: readonly string[], changed: Path[]): void {
  const old = doc.getIn(path, true);
  const node = doc.createNode(items);
  node.flow = isSeq(old) ? (old.flow ?? false) : true;
  doc.setIn(path, node);
  changed.push(path);
}

/**
 * The expression with every root-level read of a renamed column naming its new name: bare or in
 * backticks as the name needs, a JSON string inside `$lookup`. A read written in a way this does not
 * recognise is left and noted.
 */
export function renameReads(expression: string, renames: ReadonlyMap<string, string>, where: string, notes: string[]): string {
  if (renames.size === 0) return expression;
  let reads;
  try {
    reads = findColumnReads(expression).reads;
  } catch {
    return expression; // validate reports an expression that does not parse
  }
  let out = expression;
  for (const read of [...reads].sort((a, b) => b.offset - a.offset)) {
    const to = renames.get(read.column);
    if (to === undefined) continue;
    const bare = out.startsWith(read.column, read.offset) ? read.column : undefined;
    const quoted = ['`', '"', "'"].find((q) => out.startsWith(`${q}${read.column}${q}`, read.offset));
    const afterDot = out.slice(0, read.offset).trimEnd().endsWith('.');
    let replacement: string | undefined;
    let length = 0;
    if (quoted === '"' || quoted === "'") {
      replacement = JSON.stringify(to);
      length = read.column.length + 2;
    } else if (bare !== undefined || quoted === '`') {
      replacement = columnReference(to);
      length = read.column.length + (quoted ? 2 : 0);
      if (afterDot && replacement.startsWith('$lookup')) replacement = undefined; // `$.name` cannot take a $lookup
    }
    if (replacement === undefined) {
      notes.push(`${where}: the read of ${JSON.stringify(read.column)} at offset ${read.offset} is not rewritten: rename it by hand`);
      continue;
    }
    out = out.slice(0, read.offset) + replacement + out.slice(read.offset + length);
  }
  return out;
}

/**
 * The original text with each changed node's source replaced by the node as the YAML library writes
 * it in place, so nothing else in the file changes (the library's own output would re-space comments
 * and flow lists everywhere).
 */
function spliceNodes(original: string, doc: Document, changed: readonly Path[]): string {
  const text = doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  const rendered = parseDocument(text);
  const source = parseDocument(original);
  const edits = changed.map((path) => {
    const from = source.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const to = rendered.getIn(path, true) as { range?: [number, number, number] } | undefined;
    if (!from?.range || !to?.range) throw new DriftPatchError(`cannot place the change of ${path.join('.')} in the partner file`);
    return { start: from.range[0], end: from.range[1], text: text.slice(to.range[0], to.range[1]) };
  });
  let out = original;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}
