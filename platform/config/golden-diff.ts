/**
 * Showing how a golden sample's output differs from what the engine writes: field by field (record,
 * field, expected value, actual value), and as a line diff before `validate --update` rewrites it.
 */

/** Most field differences listed per file; the rest are counted. */
const MAX_FIELD_DIFFERENCES = 20;
/** Longest value shown in a field difference. */
const MAX_VALUE_CHARS = 80;
/** Largest line diff computed exactly (lines before x lines after); above it the whole file is shown replaced. */
const MAX_DIFF_CELLS = 4_000_000;

/**
 * Record by record, field by field: `record 2 (line 2) /amount: expected 3, got 2`. The output is
 * NDJSON, or one JSON array for the `json` format. A record equal in value but not in bytes (key
 * order, spacing) says so.
 */
export function recordDifferences(expected: Buffer, actual: Buffer, format: 'ndjson' | 'json'): string[] {
  const want = parseRecords(expected.toString('utf8'), format);
  const got = parseRecords(actual.toString('utf8'), format);
  const out: string[] = [];
  let total = 0;
  const push = (line: string) => {
    total++;
    if (out.length < MAX_FIELD_DIFFERENCES) out.push(line);
  };
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    const e = want[i];
    const a = got[i];
    const where = `record ${i + 1}${format === 'ndjson' ? ` (line ${(e ?? a)!.line})` : ''}`;
    if (!a) push(`${where}: expected ${show(e!.text)}, got no record`);
    else if (!e) push(`${where}: expected no record, got ${show(a.text)}`);
    else if (e.text === a.text) continue;
    else if (!e.parsed || !a.parsed) push(`${where}: expected ${show(e.text)}, got ${show(a.text)} (not JSON)`);
    else {
      const fields: string[] = [];
      diffValues('', e.value, a.value, fields);
      if (fields.length === 0) push(`${where}: the same values written differently (${howWritten(e.value, a.value)})`);
      for (const f of fields) push(`${where} ${f}`);
    }
  }
  if (total > out.length) out.push(`... and ${total - out.length} more field differences`);
  return out;
}

interface ParsedRecord {
  readonly text: string;
  readonly line: number;
  readonly parsed: boolean;
  readonly value?: unknown;
}

function parseRecords(text: string, format: 'ndjson' | 'json'): ParsedRecord[] {
  if (format === 'json') {
    try {
      const array = JSON.parse(text) as unknown;
      if (Array.isArray(array)) return array.map((value) => ({ text: JSON.stringify(value), line: 1, parsed: true, value }));
    } catch {
      // not an array: compared as text below
    }
    return text === '' ? [] : [{ text, line: 1, parsed: false }];
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line, i) => {
    try {
      return { text: line, line: i + 1, parsed: true, value: JSON.parse(line) as unknown };
    } catch {
      return { text: line, line: i + 1, parsed: false };
    }
  });
}

/** JSON pointer differences between two values: `/customer/email: expected "a", got "b"`. */
function diffValues(pointer: string, expected: unknown, actual: unknown, out: string[]): void {
  const bothObjects = isObject(expected) && isObject(actual);
  const bothArrays = Array.isArray(expected) && Array.isArray(actual);
  if (bothObjects || bothArrays) {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const keys = bothArrays
      ? Array.from({ length: Math.max((expected as unknown[]).length, (actual as unknown[]).length) }, (_, i) => String(i))
      : [...new Set([...Object.keys(e), ...Object.keys(a)])];
    for (const key of keys) {
      const path = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      const inE = Object.prototype.hasOwnProperty.call(e, key);
      const inA = Object.prototype.hasOwnProperty.call(a, key);
      if (!inA) out.push(`${path}: expected ${show(JSON.stringify(e[key]))}, got no field`);
      else if (!inE) out.push(`${path}: expected no field, got ${show(JSON.stringify(a[key]))}`);
      else diffValues(path, e[key], a[key], out);
    }
    return;
  }
  const e = JSON.stringify(expected);
  const a = JSON.stringify(actual);
  if (e !== a) out.push(`${pointer || '/'}: expected ${show(e)}, got ${show(a)}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Why two equal values read differently: key order, or spacing and number spelling. */
function howWritten(expected: unknown, actual: unknown): string {
  const order = (v: unknown): string[] => (isObject(v) ? Object.keys(v) : []);
  const e = order(expected);
  const a = order(actual);
  if (e.join('\u0000') !== a.join('\u0000')) return `key order: expected ${e.join(', ')}; got ${a.join(', ')}`;
  return 'spacing, escapes or number format';
}

function show(text: string): string {
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 3)}...` : text;
}

/**
 * A unified diff of two texts, line by line: `-` lines only before, `+` lines only after, with
 * `context` unchanged lines around each change and `@@ -a,b +c,d @@` hunk headers.
 */
export function lineDiff(before: string, after: string, context = 2): string[] {
  const a = splitLines(before);
  const b = splitLines(after);
  const ops = editScript(a, b);
  const out: string[] = [];
  let i = 0;
  while (i < ops.length) {
    if (ops[i]!.op === ' ') {
      i++;
      continue;
    }
    let start = Math.max(0, i - context);
    let end = i;
    // extend the hunk while changes follow within 2 * context unchanged lines
    for (let j = i; j < ops.length; j++) {
      if (ops[j]!.op !== ' ') end = j;
      else if (j - end > 2 * context) break;
    }
    end = Math.min(ops.length - 1, end + context);
    while (start > 0 && ops[start - 1]!.op !== ' ') start--;
    const hunk = ops.slice(start, end + 1);
    const oldStart = hunk.find((o) => o.op !== '+')?.a ?? ops[start]!.a;
    const newStart = hunk.find((o) => o.op !== '-')?.b ?? ops[start]!.b;
    const oldCount = hunk.filter((o) => o.op !== '+').length;
    const newCount = hunk.filter((o) => o.op !== '-').length;
    out.push(`@@ -${oldStart + (oldCount ? 1 : 0)},${oldCount} +${newStart + (newCount ? 1 : 0)},${newCount} @@`);
    for (const o of hunk) out.push(`${o.op}${o.text}`);
    i = end + 1;
  }
  return out;
}

/** Lines with their terminators shown: a missing final newline and a CR are visible in the diff. */
function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  const last = lines.pop()!;
  const out = lines.map((l) => (l.endsWith('\r') ? `${l.slice(0, -1)}\\r` : l));
  if (last !== '') out.push(`${last} (no newline at the end)`);
  return out;
}

interface Op {
  readonly op: ' ' | '-' | '+';
  readonly text: string;
  /** 0-based line index in the old text (for '+', the index the insertion follows). */
  readonly a: number;
  readonly b: number;
}

/** The shortest edit script by longest common subsequence; very large inputs are shown as replaced whole. */
function editScript(a: readonly string[], b: readonly string[]): Op[] {
  if (a.length * b.length > MAX_DIFF_CELLS) {
    return [
      ...a.map((text, i) => ({ op: '-' as const, text, a: i, b: 0 })),
      ...b.map((text, j) => ({ op: '+' as const, text, a: a.length, b: j })),
    ];
  }
  const n = a.length;
  const m = b.length;
  // lcs[i][j]: length of the LCS of a[i..] and b[j..], in one flat array
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] =
        a[i] === b[j] ? lcs[(i + 1) * (m + 1) + j + 1]! + 1 : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ op: ' ', text: a[i]!, a: i++, b: j++ });
    else if (i < n && (j === m || lcs[(i + 1) * (m + 1) + j]! >= lcs[i * (m + 1) + j + 1]!))
      ops.push({ op: '-', text: a[i]!, a: i++, b: j });
    else ops.push({ op: '+', text: b[j]!, a: i, b: j++ });
  }
  return ops;
}
