import type { FeedConfig } from '../model.js';
import { findMappingColumnReads } from './column-reads.js';

/**
 * Masking personal data (`pii` in the partner file). A value keeps its first character and, for an
 * e-mail address, the first character of its domain and its top-level domain: `john@example.com`
 * -> `j***@e***.com`, `Jane Doe` -> `J***`. Anything else that is not a string is `***`.
 */
export function maskValue(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value !== 'string') return '***';
  const at = value.indexOf('@');
  if (at > 0) {
    const domain = value.slice(at + 1);
    const dot = domain.lastIndexOf('.');
    if (dot > 0) return `${first(value)}***@${first(domain)}***${domain.slice(dot)}`;
  }
  return value === '' ? '' : `${first(value)}***`;
}

/** The first character (a whole code point). */
const first = (text: string) => String.fromCodePoint(text.codePointAt(0)!);

/** What a feed masks: columns by name, output fields by path. */
export interface Masking {
  readonly columns: ReadonlySet<string>;
  readonly fields: readonly (readonly string[])[];
  /** Whether the output is masked too (`output.mask`). */
  readonly output: boolean;
}

/**
 * A feed's masking, or undefined when it tags no personal data. Each `pii` entry names a column, an
 * output field, or both; the columns a tagged field's expression reads are tagged too (`customer.email:
 * $lowercase(email)` tags the column `email`), so a row rejected before it is mapped is masked as well.
 */
export function maskingOf(config: Pick<FeedConfig, 'pii' | 'output' | 'mapping'>): Masking | undefined {
  const pii = config.pii;
  if (!pii?.length) return undefined;
  const columns = new Set(pii);
  if (config.mapping.kind === 'fields') {
    const fields = config.mapping.fields.filter((f) => columns.has(f.name));
    for (const column of findMappingColumnReads({ kind: 'fields', fields }).columns) columns.add(column);
  }
  return { columns, fields: pii.map((name) => name.split('.')), output: config.output.mask === true };
}

/** The values at the masked output paths of a record (strings and numbers; nested objects are not walked further). */
export function fieldValues(masking: Masking, record: Record<string, unknown>): unknown[] {
  const values: unknown[] = [];
  for (const path of masking.fields) {
    let at: unknown = record;
    for (const part of path)
      at = at !== null && typeof at === 'object' && Object.hasOwn(at, part) ? (at as Record<string, unknown>)[part] : undefined;
    if (typeof at === 'string' || typeof at === 'number') values.push(at);
  }
  return values;
}

/** Masks the `pii` output fields of a record in place (after the schema has validated it). */
export function maskFields(masking: Masking, record: Record<string, unknown>): void {
  for (const path of masking.fields) {
    let parent: unknown = record;
    for (let i = 0; i < path.length - 1 && parent !== undefined; i++) {
      const part = path[i]!;
      parent =
        parent !== null && typeof parent === 'object' && Object.hasOwn(parent, part)
          ? (parent as Record<string, unknown>)[part]
          : undefined;
    }
    const last = path[path.length - 1]!;
    if (parent !== null && typeof parent === 'object' && Object.hasOwn(parent, last)) {
      const target = parent as Record<string, unknown>;
      target[last] = maskValue(target[last]);
    }
  }
}

/**
 * Text with every occurrence of the given values masked, as written and as JSON quotes them: the raw
 * row and the message of a rejected row. A value of one character is masked wherever it appears,
 * which masks more than it must, never less.
 */
export function maskText(text: string, values: readonly unknown[]): string {
  let masked = text;
  // longest first, so a value inside another is not masked before the longer one is found
  const strings = [...new Set(values.filter((v) => v !== '' && v !== null && v !== undefined).map(String))].sort(
    (a, b) => b.length - a.length,
  );
  for (const value of strings) {
    const replacement = String(maskValue(value));
    masked = masked.replaceAll(value, replacement);
    const quoted = JSON.stringify(value).slice(1, -1);
    if (quoted !== value) masked = masked.replaceAll(quoted, JSON.stringify(replacement).slice(1, -1));
  }
  return masked;
}
