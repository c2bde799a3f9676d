/**
 * Header drift: a file whose header differs from what the feed's configuration expects (columns
 * renamed by case, spacing, punctuation or a typo, added, missing, reordered). It is a warning, not
 * a status: the file's status follows the usual rules (a missing required column still fails it).
 * The drift carries what a person needs to fix the partner file, and `partner-etl drift <key>`
 * turns it into a patch.
 */
import type { CsvConfig } from '../model.js';
import { closestColumn, normaliseColumnName } from './column-names.js';

/** One expected column found under another name in the file's header. */
export interface ColumnRename {
  /** The name the configuration uses. */
  readonly from: string;
  /** The name in the file's header. */
  readonly to: string;
  /** `normalised`: equal once case, accents, spaces and punctuation are dropped; `fuzzy`: the closest name. */
  readonly match: 'normalised' | 'fuzzy';
}

export interface HeaderDrift {
  /** The file's header, in file order (names cut at `MAX_DRIFT_NAME_CHARS`, at most `MAX_DRIFT_HEADER_CHARS` in all). */
  readonly header: readonly string[];
  /** The header or a list was cut to its bounds: a patch cannot be made from it. */
  readonly truncated?: true;
  readonly renamed: readonly ColumnRename[];
  /** Header columns the configuration does not know (only judged when `csv.columns` is declared). */
  readonly added: readonly string[];
  /** Expected columns the header lacks, with no rename found (optional columns are never missing). */
  readonly missing: readonly string[];
  /** The declared columns the header has come in another order than `csv.columns`. */
  readonly reordered: boolean;
}

/** A warning about a file that does not change its status. */
export interface FileWarning {
  readonly code: 'HEADER_DRIFT';
  readonly message: string;
  readonly line: number;
  readonly drift: HeaderDrift;
}

/**
 * Bounds on what a drift carries, so a hostile header cannot grow the ledger item (400 KB) or the
 * event (256 KB): names cut at 128 characters, at most 16 KiB of names in each list (the header,
 * the renames, the added and the missing columns: 64 KiB in all). A drift cut to its bounds says so.
 */
export const MAX_DRIFT_NAME_CHARS = 128;
export const MAX_DRIFT_LIST_CHARS = 16 * 1024;
/** Names one category lists in the message; the drift itself lists them all. */
const MAX_MESSAGE_NAMES = 10;
/** Fuzzy matching compares at most this many (lacking x unknown) pairs; beyond, only normalised renames are found. */
const MAX_FUZZY_PAIRS = 4_000;

/**
 * Compares a header with the configuration: `csv.columns` when declared (names and order), else the
 * columns the mapping reads. `readColumns` are the columns the mapping reads (found statically).
 * Returns undefined when the header is as expected, or for a feed without a header.
 */
export function detectHeaderDrift(header: readonly string[], csv: CsvConfig, readColumns: readonly string[]): HeaderDrift | undefined {
  if (!csv.header) return undefined;
  const optional = csv.optionalColumns ?? [];
  const declared = csv.columns;
  const expected = unique([...(declared ?? []), ...readColumns.filter((c) => !optional.includes(c))]);
  const inHeader = new Set(header);
  const known = new Set([...expected, ...optional]);
  // Candidates: expected (and optional) names the header lacks, header names nobody expects.
  const lacking = [...expected, ...optional].filter((c) => !inHeader.has(c));
  const unknown = header.filter((c) => !known.has(c));
  const renamed: ColumnRename[] = [];
  const paired = new Set<string>();
  const byNormal = new Map<string, string>();
  for (const name of unknown) if (!byNormal.has(normaliseColumnName(name))) byNormal.set(normaliseColumnName(name), name);
  for (const from of lacking) {
    const to = byNormal.get(normaliseColumnName(from));
    if (to !== undefined && normaliseColumnName(from) !== '' && !paired.has(to)) {
      renamed.push({ from, to, match: 'normalised' });
      paired.add(to);
    }
  }
  let stillLacking = lacking.filter((c) => !renamed.some((r) => r.from === c));
  let stillUnknown = unknown.filter((c) => !paired.has(c));
  if (stillLacking.length * stillUnknown.length <= MAX_FUZZY_PAIRS) {
    for (const from of stillLacking) {
      const closest = closestColumn(from, stillUnknown);
      if (!closest) continue;
      renamed.push({ from, to: closest.name, match: 'fuzzy' });
      stillUnknown = stillUnknown.filter((c) => c !== closest.name);
    }
    stillLacking = stillLacking.filter((c) => !renamed.some((r) => r.from === c));
  }
  const missing = stillLacking.filter((c) => !optional.includes(c));
  // Without declared columns a header may carry any number of columns the mapping does not read.
  const added = declared ? stillUnknown : [];
  const reordered = declared ? isReordered(declared, header, renamed) : false;
  if (renamed.length === 0 && added.length === 0 && missing.length === 0 && !reordered) return undefined;
  const lists = {
    header: bounded(header),
    renamed: bounded(renamed),
    added: bounded(added),
    missing: bounded(missing),
  };
  const truncated = [lists.header, lists.renamed, lists.added, lists.missing].some((l) => l.truncated);
  return {
    header: lists.header.items,
    ...(truncated ? { truncated: true as const } : {}),
    renamed: lists.renamed.items,
    added: lists.added.items,
    missing: lists.missing.items,
    reordered,
  };
}

/** The declared columns the header has (under their new names when renamed) are not in `csv.columns` order. */
function isReordered(declared: readonly string[], header: readonly string[], renamed: readonly ColumnRename[]): boolean {
  const position = new Map(header.map((name, i) => [name, i]));
  let last = -1;
  for (const name of declared) {
    const at = position.get(renamed.find((r) => r.from === name)?.to ?? name);
    if (at === undefined) continue;
    if (at < last) return true;
    last = at;
  }
  return false;
}

/** One line for the summary, the ledger and the terminal: what changed and the suggested change. Names only, never a cell. */
export function describeHeaderDrift(drift: HeaderDrift, hasDeclaredColumns: boolean): string {
  const parts: string[] = [];
  const list = (names: readonly string[]) => few(names.map((n) => JSON.stringify(n)));
  if (drift.renamed.length > 0) {
    parts.push(
      `renamed: ${few(drift.renamed.map((r) => `${JSON.stringify(r.from)} -> ${JSON.stringify(r.to)}${r.match === 'fuzzy' ? ' (closest name)' : ''}`))}`,
    );
  }
  if (drift.added.length > 0) parts.push(`added: ${list(drift.added)}`);
  if (drift.missing.length > 0) parts.push(`missing: ${list(drift.missing)}`);
  if (drift.reordered) parts.push('reordered');
  const fixes: string[] = [];
  if (drift.renamed.length > 0) {
    fixes.push(`${hasDeclaredColumns ? 'rename them in csv.columns and' : 'read them under their new names in'} the mapping`);
  }
  if (drift.added.length > 0) fixes.push('add the new columns to csv.columns and map them');
  if (drift.reordered && drift.renamed.length === 0 && drift.added.length === 0) fixes.push('list csv.columns in the file order');
  const suggestion = fixes.length > 0 ? `; suggested: ${fixes.join(', ')} (partner-etl drift <key> prints the patch)` : '';
  return `the header differs from the feed's ${hasDeclaredColumns ? 'csv.columns' : 'mapping'}: ${parts.join('; ')}${suggestion}`;
}

/** The first names, and how many more. */
function few(items: readonly string[]): string {
  const shown = items.slice(0, MAX_MESSAGE_NAMES).join(', ');
  return items.length > MAX_MESSAGE_NAMES ? `${shown} and ${items.length - MAX_MESSAGE_NAMES} more` : shown;
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}

/** The items (names cut) up to `MAX_DRIFT_LIST_CHARS` of names in all, and whether any was cut or left out. */
function bounded<T extends string | ColumnRename>(items: readonly T[]): { items: T[]; truncated: boolean } {
  const out: T[] = [];
  let chars = 0;
  let truncated = false;
  for (const item of items) {
    const names = typeof item === 'string' ? [item] : [item.from, item.to];
    truncated ||= names.some((n) => n.length > MAX_DRIFT_NAME_CHARS);
    chars += names.reduce((sum, n) => sum + Math.min(n.length, MAX_DRIFT_NAME_CHARS), 0);
    if (chars > MAX_DRIFT_LIST_CHARS) return { items: out, truncated: true };
    const rename = item as ColumnRename;
    out.push((typeof item === 'string' ? cut(item) : { ...rename, from: cut(rename.from), to: cut(rename.to) }) as T);
  }
  return { items: out, truncated };
}

function cut(name: string): string {
  return name.length > MAX_DRIFT_NAME_CHARS ? `${name.slice(0, MAX_DRIFT_NAME_CHARS)}...` : name;
}
