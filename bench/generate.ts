import { createWriteStream, existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';

/** Deterministic pseudo-random numbers (mulberry32), so every run benchmarks the same bytes. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const HEADER = 'event_id,occurred_at,user_id,email,country,device,amount,currency,quantity,status,tags,comment';
const COUNTRIES = ['DE', 'fr', 'US', 'gb', 'NL', 'es', 'IT', 'se', 'PL', 'jp'];
const DEVICES = ['ios', 'android', 'web', 'desktop'];
const STATUSES = ['paid', 'pending', 'refunded', 'paid', 'paid'];
const WORDS = [
  'great',
  'late delivery',
  'box "damaged"',
  'thanks, again',
  'ok',
  'größe passt',
  'très bien',
  'n/a',
  'call me',
  'repeat order',
];

/** `bench/.cache/events-<rows>.csv`, generated once: quoting, ~1% embedded newlines, empty cells, UTF-8. */
export async function benchFile(rows: number): Promise<string> {
  const dir = join(import.meta.dirname, '.cache');
  const path = join(dir, `events-${rows}.csv`);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.partial`;
  const out = createWriteStream(tmp);
  for (const batch of benchCsv(rows)) {
    if (!out.write(batch)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve) => out.end(resolve));
  renameSync(tmp, path);
  return path;
}

/** The bench CSV of `rows` rows (the header first) in batches of about 1 MiB; the same bytes for the same `rows`. */
export function* benchCsv(rows: number): Generator<string> {
  const r = random(rows);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const start = Date.UTC(2026, 0, 1);
  let batch = `${HEADER}\n`;
  for (let i = 0; i < rows; i++) {
    const user = Math.floor(r() * 1_000_000);
    const amount = r() < 0.05 ? '' : (r() * 500).toFixed(2);
    const comment = r() < 0.01 ? `${pick(WORDS)}\n${pick(WORDS)}` : r() < 0.3 ? ` ${pick(WORDS)}, ${pick(WORDS)} ` : pick(WORDS);
    batch +=
      [
        `E${i}`,
        new Date(start + Math.floor(r() * 31_536_000_000)).toISOString(),
        String(user),
        `User.${user}@Example.COM`,
        pick(COUNTRIES),
        pick(DEVICES),
        amount,
        'EUR',
        String(Math.floor(r() * 10)),
        pick(STATUSES),
        quote(`${pick(DEVICES)};${pick(STATUSES)}`),
        quote(comment),
      ].join(',') + '\n';
    if (batch.length > 1 << 20) {
      yield batch;
      batch = '';
    }
  }
  if (batch) yield batch;
}
