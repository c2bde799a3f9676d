/**
 * What a single CSV cell looks like: the recognisers behind the dialect's type score and the
 * column type inference of `partner-etl init`.
 */

/** Cells that stand for "no value" in partner files. */
export const NULL_TOKENS = ['', 'NULL', 'null', 'N/A', 'n/a', '-'] as const;

export const TRUE_WORDS = ['true', 't', 'yes', 'y', '1'] as const;
export const FALSE_WORDS = ['false', 'f', 'no', 'n', '0'] as const;

export const INTEGER = /^-?(0|[1-9]\d{0,14})$/;
/** Digits with a dot decimal point and no thousands separator: 19.99, -0.5, 1200.00. */
export const DECIMAL_DOT = /^-?\d{1,15}\.\d+$/;
/** A comma decimal point: 89,90, -45,00. */
export const DECIMAL_COMMA = /^-?\d{1,15},\d+$/;
/** Comma thousands, optional dot decimals: 1,234 or 12,500.00. */
export const THOUSANDS_COMMA = /^-?\d{1,3}(,\d{3})+(\.\d+)?$/;
/** Dot thousands, optional comma decimals: 1.234,56 or 12.500. */
export const THOUSANDS_DOT = /^-?\d{1,3}(\.\d{3})+(,\d+)?$/;
export const ISO_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
/** RFC 3339 with a zone (`Z` or an offset): JSON Schema's `date-time`. */
export const ISO_DATE_TIME_ZONED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;
/** Without a zone, `T` or a space between: JSON Schema's `iso-date-time` (ajv-formats). */
export const ISO_DATE_TIME_LOCAL = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/i;
/** Day and month in either order with `.`, `/` or `-`, and a four-digit year: 03.11.2026, 11/3/2026. */
export const DAY_MONTH_YEAR = /^(\d{1,2})([./-])(\d{1,2})\2(\d{4})$/;
export const EMAIL = /^[^@\s"<>(),;:]+@[^@\s"<>(),;:]+\.[A-Za-z]{2,}$/;

const TIME = /^\d{1,2}:\d{2}(:\d{2})?$/;
const URL = /^https?:\/\/\S+$/i;
const PERCENT_OR_MONEY = /^[-+]?[$€£¥]?\s?\d[\d.,' ]*\s?(%|[$€£¥]|EUR|USD|GBP|CHF)?$/i;

/** Whether a (trimmed) cell reads as a known type: empty, a null token, a number, a date or time, an e-mail, a URL or a yes/no word. */
export function isKnownCell(value: string): boolean {
  if ((NULL_TOKENS as readonly string[]).includes(value)) return true;
  const lower = value.toLowerCase();
  if ((TRUE_WORDS as readonly string[]).includes(lower) || (FALSE_WORDS as readonly string[]).includes(lower)) return true;
  return (
    INTEGER.test(value) ||
    DECIMAL_DOT.test(value) ||
    DECIMAL_COMMA.test(value) ||
    THOUSANDS_COMMA.test(value) ||
    THOUSANDS_DOT.test(value) ||
    PERCENT_OR_MONEY.test(value) ||
    ISO_DATE.test(value) ||
    ISO_DATE_TIME_ZONED.test(value) ||
    ISO_DATE_TIME_LOCAL.test(value) ||
    DAY_MONTH_YEAR.test(value) ||
    TIME.test(value) ||
    EMAIL.test(value) ||
    URL.test(value)
  );
}
