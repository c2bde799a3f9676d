/**
 * Comparing column names the way a person would: `Customer Email`, `customer_email` and
 * `CUSTOMER-EMAIL` are the same column spelt differently; `Aircraft Model` is close to
 * `Aircraft Make Model`. Used to name the closest header column in MISSING_COLUMNS and to suggest
 * renames when a partner's header drifts.
 */

/** Longest name prefix compared by edit distance: bounds the work on hostile headers. */
const MAX_COMPARED_CHARS = 64;
/** Below this similarity a name is not offered as "the closest". */
export const MIN_SIMILARITY = 0.5;

/** Lower case, accents removed, everything but letters and digits dropped: `Währung (EUR)` -> `wahrungeur`. */
export function normaliseColumnName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]/gu, '');
}

/**
 * 1 for names equal once normalised, down to 0 for names with nothing in common: the mean of the
 * whole names' edit-distance ratio and the share of words they have in common (a word matching a
 * word with at most a typo), so `Aircraft Model` is nearer `Aircraft Make Model` than `Aircraft Make`
 * and `ammount` stays near `amount`.
 */
export function columnSimilarity(a: string, b: string): number {
  const x = normaliseColumnName(a).slice(0, MAX_COMPARED_CHARS);
  const y = normaliseColumnName(b).slice(0, MAX_COMPARED_CHARS);
  if (x === y) return x === '' && a !== b ? 0 : 1;
  return (editRatio(x, y) + sharedWords(words(a), words(b))) / 2;
}

function editRatio(x: string, y: string): number {
  return 1 - editDistance(x, y) / Math.max(x.length, y.length);
}

/** `customerEmail`, `Customer E-mail` -> customer, email (at most 16 words). */
function words(name: string): string[] {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/(\p{Ll})(\p{Lu})/gu, '$1 $2')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== '')
    .slice(0, 16)
    .map((w) => w.slice(0, MAX_COMPARED_CHARS));
}

/** One edit apart in words of three letters or more, or 3/4 alike. */
function isTypo(a: string, b: string): boolean {
  const distance = editDistance(a, b);
  return (distance <= 1 && Math.max(a.length, b.length) >= 3) || 1 - distance / Math.max(a.length, b.length) >= 0.75;
}

/** Dice coefficient over words, a word matching an unused word of the other name when it is at most a typo away. */
function sharedWords(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const unused = [...b];
  let matched = 0;
  for (const word of a) {
    const i = unused.findIndex((other) => other === word || isTypo(word, other));
    if (i >= 0) {
      matched++;
      unused.splice(i, 1);
    }
  }
  return (2 * matched) / (a.length + b.length);
}

/** The candidate most like `name`, when one is at least `MIN_SIMILARITY` alike; ties go to the earlier candidate. */
export function closestColumn(name: string, candidates: readonly string[]): { name: string; similarity: number } | undefined {
  let best: { name: string; similarity: number } | undefined;
  for (const candidate of candidates) {
    const similarity = columnSimilarity(name, candidate);
    if (similarity >= MIN_SIMILARITY && (!best || similarity > best.similarity)) best = { name: candidate, similarity };
  }
  return best;
}

/** Levenshtein distance, two rows of memory. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  let current = new Array<number>(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length]!;
}
