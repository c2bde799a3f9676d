/**
 * Column types from a sample's cells, and the JSONata expression and JSON Schema each type gets.
 * Every type is checked against every non-null cell of the sample, so the drafted mapping reads the
 * whole sample without a reject: integers, decimals (dot or comma, with thousands separators),
 * yes/no words, ISO dates and date-times, day-first or month-first dates (with the picture JSONata
 * needs), e-mail addresses, enumerations of a few values; text otherwise.
 */
import {
  DAY_MONTH_YEAR,
  DECIMAL_COMMA,
  DECIMAL_DOT,
  EMAIL,
  FALSE_WORDS,
  INTEGER,
  ISO_DATE,
  ISO_DATE_TIME_LOCAL,
  ISO_DATE_TIME_ZONED,
  NULL_TOKENS,
  THOUSANDS_COMMA,
  THOUSANDS_DOT,
  TRUE_WORDS,
} from './cell-types.js';

/** How numbers are written in a column: `1.234,56` is `{ decimal: ',', thousands: '.' }`. */
export interface NumberStyle {
  readonly decimal: '.' | ',';
  readonly thousands?: ',' | '.';
}

export type ColumnType =
  | { readonly kind: 'string' }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'number'; readonly style: NumberStyle; readonly integral: boolean }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'date' }
  | { readonly kind: 'date-time'; readonly zoned: boolean }
  | {
      readonly kind: 'day-month-date';
      readonly order: 'day-first' | 'month-first';
      readonly separator: string;
      readonly padded: boolean;
      /** Every day and month was 12 or less: the order is a guess from the file's conventions. */
      readonly assumed: boolean;
    }
  | { readonly kind: 'email'; readonly lowercase: boolean };

export interface InferredColumn {
  /** The column name as the row has it. */
  readonly column: string;
  readonly output: string;
  readonly type: ColumnType;
  /** Never empty (never a null value) in the sample. */
  readonly required: boolean;
  readonly nonNull: number;
}

/** Hints for the ambiguous cases, taken from the whole file. */
export interface InferenceHints {
  /** The file is European in style (`;` delimiter or decimal commas): `1,234` is 1.234 and 03/04 is 3 April. */
  readonly european: boolean;
}

/** The null tokens the sample uses, `""` always first: they become the feed's `nullValues`. */
export function detectNullValues(rows: readonly (readonly string[])[]): string[] {
  const seen = new Set<string>();
  for (const row of rows) for (const cell of row) if ((NULL_TOKENS as readonly string[]).includes(cell)) seen.add(cell);
  return ['', ...NULL_TOKENS.filter((t) => t !== '' && seen.has(t))];
}

/** The type of one column from its cells (null values already left out). */
export function inferType(values: readonly string[], hints: InferenceHints): ColumnType {
  if (values.length === 0) return { kind: 'string' };
  const number = numberType(values, hints);
  if (number) return number;
  const lower = values.map((v) => v.toLowerCase());
  const words = [...TRUE_WORDS, ...FALSE_WORDS] as readonly string[];
  if (lower.every((v) => words.includes(v)) && lower.some((v) => !/^\d$/.test(v))) return { kind: 'boolean' };
  if (values.every((v) => ISO_DATE.test(v) && validDate(+v.slice(0, 4), +v.slice(5, 7), +v.slice(8, 10)))) return { kind: 'date' };
  if (values.every((v) => ISO_DATE_TIME_ZONED.test(v) && isoDateTimeValid(v))) return { kind: 'date-time', zoned: true };
  if (values.every((v) => ISO_DATE_TIME_LOCAL.test(v) && isoDateTimeValid(v))) return { kind: 'date-time', zoned: false };
  const dayMonth = dayMonthType(values, hints);
  if (dayMonth) return dayMonth;
  if (values.every((v) => EMAIL.test(v))) return { kind: 'email', lowercase: values.some((v) => v !== v.toLowerCase()) };
  const distinct = [...new Set(values)];
  if (values.length >= 4 && distinct.length <= 10 && distinct.length * 2 <= values.length && distinct.every((v) => v.length <= 40)) {
    return { kind: 'enum', values: distinct.sort() };
  }
  return { kind: 'string' };
}

const NUMBER_STYLES: readonly { style: NumberStyle; accepts: readonly RegExp[] }[] = [
  { style: { decimal: '.' }, accepts: [INTEGER, DECIMAL_DOT] },
  { style: { decimal: '.', thousands: ',' }, accepts: [INTEGER, DECIMAL_DOT, THOUSANDS_COMMA] },
  { style: { decimal: ',' }, accepts: [INTEGER, DECIMAL_COMMA] },
  { style: { decimal: ',', thousands: '.' }, accepts: [INTEGER, DECIMAL_COMMA, THOUSANDS_DOT] },
];

/**
 * A number style every cell fits, the simplest first; `1,234` alone fits both a thousands comma and a
 * decimal comma, and the file's style decides. Leading zeros (`007`) and more than 15 digits keep a
 * column as text: identifiers, not quantities.
 */
function numberType(values: readonly string[], hints: InferenceHints): ColumnType | undefined {
  const fitting = NUMBER_STYLES.filter((s) => values.every((v) => s.accepts.some((re) => re.test(v))));
  if (fitting.length === 0) return undefined;
  if (values.every((v) => INTEGER.test(v))) return { kind: 'number', style: { decimal: '.' }, integral: true };
  const preferred = hints.european
    ? [...fitting].sort((a, b) => (a.style.decimal === ',' ? -1 : 0) - (b.style.decimal === ',' ? -1 : 0))
    : fitting;
  const style = preferred[0]!.style;
  const integral = values.every((v) => !v.includes(style.decimal));
  return { kind: 'number', style, integral };
}

/** Day and month in either order: the order every cell allows; when every cell allows both, the file's convention. */
function dayMonthType(values: readonly string[], hints: InferenceHints): ColumnType | undefined {
  const parts = values.map((v) => DAY_MONTH_YEAR.exec(v));
  if (parts.some((p) => !p)) return undefined;
  const separator = parts[0]![2]!;
  if (parts.some((p) => p![2] !== separator)) return undefined;
  const dayFirstOk = parts.every((p) => validDate(+p![4]!, +p![3]!, +p![1]!));
  const monthFirstOk = parts.every((p) => validDate(+p![4]!, +p![1]!, +p![3]!));
  if (!dayFirstOk && !monthFirstOk) return undefined;
  const assumed = dayFirstOk && monthFirstOk;
  const order = assumed ? (separator === '.' || hints.european ? 'day-first' : 'month-first') : dayFirstOk ? 'day-first' : 'month-first';
  const padded = parts.every((p) => p![1]!.length === 2 && p![3]!.length === 2);
  return { kind: 'day-month-date', order, separator, padded, assumed };
}

function validDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function isoDateTimeValid(value: string): boolean {
  const hour = +value.slice(11, 13);
  const minute = +value.slice(14, 16);
  return validDate(+value.slice(0, 4), +value.slice(5, 7), +value.slice(8, 10)) && hour < 24 && minute < 60;
}

const KEYWORDS = new Set(['and', 'or', 'in', 'true', 'false', 'null', 'function']);

/** How an expression names a column: bare when it is an identifier, in backticks otherwise, through `$lookup` when it holds a backtick. */
export function columnReference(column: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(column) && !KEYWORDS.has(column)) return column;
  if (!column.includes('`')) return `\`${column}\``;
  return `$lookup($, ${JSON.stringify(column)})`;
}

const FORBIDDEN_OUTPUT_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/** camelCase output names from column names, unique, never empty: `Aircraft Make Model` -> `aircraftMakeModel`. */
export function outputNames(columns: readonly string[]): string[] {
  const used = new Set<string>();
  return columns.map((column, i) => {
    const words = column
      .normalize('NFKD')
      .replace(/\p{M}/gu, '')
      .replace(/(\p{Ll})(\p{Lu})/gu, '$1 $2')
      .split(/[^\p{L}\p{N}]+/u)
      .filter((w) => w !== '')
      .map((w) => w.toLowerCase());
    let name = words.map((w, k) => (k === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1))).join('');
    if (name === '') name = `column${i + 1}`;
    if (/^\p{N}/u.test(name)) name = `field${name}`;
    if (FORBIDDEN_OUTPUT_NAMES.has(name)) name = `${name}Field`;
    let unique = name;
    for (let n = 2; used.has(unique); n++) unique = `${name}${n}`;
    used.add(unique);
    return unique;
  });
}

/** The JSONata expression that turns the column's cell into its typed value. */
export function expressionFor(column: string, type: ColumnType, nullable: boolean): string {
  const ref = columnReference(column);
  switch (type.kind) {
    case 'string':
    case 'enum':
    case 'date':
    case 'date-time':
      return ref;
    case 'email':
      return type.lowercase ? `$lowercase(${ref})` : ref;
    case 'number': {
      const { decimal, thousands } = type.style;
      let text = ref;
      if (thousands) text = `$replace(${text}, "${thousands}", "")`;
      if (decimal === ',') text = `$replace(${text}, ",", ".")`;
      return `$number(${text})`;
    }
    case 'boolean': {
      const words = (list: readonly string[]) => `[${list.map((w) => JSON.stringify(w)).join(', ')}]`;
      const body = [
        '(',
        `  $v := $lowercase(${ref});`,
        `  $v in ${words(TRUE_WORDS)} ? true`,
        `    : $v in ${words(FALSE_WORDS)} ? false`,
        `    : $error(${JSON.stringify(`${column} is not a yes/no value: `)} & ${ref})`,
        ')',
      ].join('\n');
      return guard(ref, body, nullable);
    }
    case 'day-month-date': {
      const d = type.padded ? '[D01]' : '[D1]';
      const m = type.padded ? '[M01]' : '[M1]';
      const s = type.separator;
      const picture = type.order === 'day-first' ? `${d}${s}${m}${s}[Y0001]` : `${m}${s}${d}${s}[Y0001]`;
      // $toMillis rolls 32.11. over into December: a date that does not come back the same is rejected.
      const original = type.padded ? ref : `$replace(${ref}, /(^|\\D)0(\\d)/, "$1$2")`;
      const body = [
        '(',
        `  $ms := $toMillis(${ref}, "${picture}");`,
        `  $fromMillis($ms, "${picture}") = ${original}`,
        '    ? $fromMillis($ms, "[Y0001]-[M01]-[D01]")',
        `    : $error(${JSON.stringify(`${column} is not a valid ${type.order} date: `)} & ${ref})`,
        ')',
      ].join('\n');
      return guard(ref, body, nullable);
    }
  }
}

/** A block that would fail on a missing cell runs only when the cell is there. */
function guard(ref: string, body: string, nullable: boolean): string {
  if (!nullable) return body;
  return `$exists(${ref})\n  ? ${body.split('\n').join('\n    ')}`;
}

/** The JSON Schema of one output field. */
export function schemaFor(type: ColumnType): Record<string, unknown> {
  switch (type.kind) {
    case 'string':
      return { type: 'string' };
    case 'enum':
      return { type: 'string', enum: type.values };
    case 'number':
      return { type: type.integral ? 'integer' : 'number' };
    case 'boolean':
      return { type: 'boolean' };
    case 'date':
    case 'day-month-date':
      return { type: 'string', format: 'date' };
    case 'date-time':
      return { type: 'string', format: type.zoned ? 'date-time' : 'iso-date-time' };
    case 'email':
      return { type: 'string', format: 'email' };
  }
}

/** A short description of a type, for the printed summary and the tests. */
export function describeType(type: ColumnType): string {
  switch (type.kind) {
    case 'number': {
      const thousands = type.style.thousands ? `thousands "${type.style.thousands}"` : '';
      if (type.integral) return thousands ? `integer (${thousands})` : 'integer';
      return `decimal (${type.style.decimal === ',' ? 'comma' : 'point'}${thousands ? `, ${thousands}` : ''})`;
    }
    case 'day-month-date':
      return `${type.order} date "${type.separator}"${type.assumed ? ' (assumed: no day above 12)' : ''}`;
    case 'date-time':
      return type.zoned ? 'date-time' : 'date-time without zone';
    case 'enum':
      return `enum ${type.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'email':
      return 'email';
    default:
      return type.kind;
  }
}

/** Types of every column of the sample rows (cells equal to a null value left out). */
export function inferColumns(
  columns: readonly string[],
  rows: readonly (readonly string[])[],
  nullValues: readonly string[],
  hints: InferenceHints,
): InferredColumn[] {
  const nulls = new Set(nullValues);
  const names = outputNames(columns);
  return columns.map((column, j) => {
    const values = rows.map((r) => r[j]).filter((v): v is string => v !== undefined && !nulls.has(v));
    return {
      column,
      output: names[j]!,
      type: inferType(values, hints),
      required: values.length === rows.length && rows.length > 0,
      nonNull: values.length,
    };
  });
}
