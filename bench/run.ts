/**
 * `npm run bench [-- --rows N --rounds R]`: the engine (exactly as `partner-etl transform` runs it)
 * side by side with the naive engine (csv-parse -> jsonata evaluate per row -> Ajv), DuckDB doing
 * the same mapping in SQL, and the read-only floor, on one cached deterministic CSV. Each engine
 * runs in its own process (so peak RSS is its own), rounds are interleaved (rotating the order) and
 * medians reported. Checks the engine's output equals the naive engine's, record for record.
 * Prints a table and writes bench/results/latest.json. A benchmark, not a test.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { benchFile } from './generate.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const rows = option('rows', 1_000_000);
const rounds = option('rounds', 3);
const ENGINES = ['engine', 'naive', 'duckdb', 'floor'] as const;
type Engine = (typeof ENGINES)[number];

const file = await benchFile(rows);
const bytes = statSync(file).size;
const work = mkdtempSync(join(tmpdir(), 'partner-etl-bench-'));
console.log(`bench: ${rows.toLocaleString('en-US')} rows, ${(bytes / 1e6).toFixed(1)} MB (${file}); ${rounds} interleaved rounds`);

const runs = new Map<Engine, { seconds: number; rssMiB: number }[]>(ENGINES.map((e) => [e, []]));
for (let round = 0; round < rounds; round++) {
  const order = ENGINES.map((_, i) => ENGINES[(i + round) % ENGINES.length]!);
  for (const engine of order) {
    const out = join(work, `${engine}.out`);
    const child = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'engines', `${engine}.ts`), file, out], {
      encoding: 'utf8',
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      maxBuffer: 1 << 24,
    });
    if (child.status !== 0) throw new Error(`${engine} failed (${child.status}): ${child.stderr}`);
    const result = JSON.parse(child.stdout) as { seconds: number; rssMiB: number; code: number };
    if (result.code !== 0) throw new Error(`${engine} exited ${result.code}: ${child.stderr}`);
    runs.get(engine)!.push(result);
    console.log(`  round ${round + 1} ${engine.padEnd(7)} ${result.seconds.toFixed(2)} s, ${Math.round(result.rssMiB)} MiB`);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary = Object.fromEntries(
  ENGINES.map((e) => {
    const seconds = median(runs.get(e)!.map((r) => r.seconds));
    const rssMiB = Math.round(Math.max(...runs.get(e)!.map((r) => r.rssMiB)));
    return [
      e,
      {
        seconds: round2(seconds),
        rowsPerSecond: Math.round(rows / seconds),
        mbPerSecond: round2(bytes / 1e6 / seconds),
        peakRssMiB: rssMiB,
      },
    ];
  }),
) as Record<Engine, { seconds: number; rowsPerSecond: number; mbPerSecond: number; peakRssMiB: number }>;

const identical = await sameRecords(join(work, 'engine.out'), join(work, 'naive.out'));
const result = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  rows,
  bytes,
  rounds,
  engines: summary,
  ratios: {
    engineVsNaiveRowsPerSecond: round2(summary.engine.rowsPerSecond / summary.naive.rowsPerSecond),
    engineVsDuckDbWallTime: round2(summary.engine.seconds / summary.duckdb.seconds),
  },
  outputIdenticalToNaive: identical,
};

console.log('');
console.log(`${'engine'.padEnd(8)}${'seconds'.padStart(9)}${'rows/s'.padStart(11)}${'MB/s'.padStart(8)}${'peak RSS'.padStart(11)}`);
for (const e of ENGINES) {
  const s = summary[e];
  console.log(
    `${e.padEnd(8)}${s.seconds.toFixed(2).padStart(9)}${s.rowsPerSecond.toLocaleString('en-US').padStart(11)}${s.mbPerSecond.toFixed(1).padStart(8)}${`${s.peakRssMiB} MiB`.padStart(11)}`,
  );
}
console.log(
  `\nengine vs naive: ${result.ratios.engineVsNaiveRowsPerSecond}x the rows/s; engine vs DuckDB: ${result.ratios.engineVsDuckDbWallTime}x the wall time`,
);
console.log(`engine output identical to the naive engine's, record for record: ${identical === true ? 'yes' : identical}`);
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'results', 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
if (identical !== true) process.exitCode = 1;

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** true, or where the two NDJSON files first differ. */
async function sameRecords(a: string, b: string): Promise<true | string> {
  const left = createInterface({ input: createReadStream(a) })[Symbol.asyncIterator]();
  const right = createInterface({ input: createReadStream(b) })[Symbol.asyncIterator]();
  const hash = createHash('sha256');
  for (let line = 1; ; line++) {
    const [l, r] = await Promise.all([left.next(), right.next()]);
    if (l.done && r.done) return true;
    if (l.done || r.done || l.value !== r.value)
      return `record ${line} differs: ${String(l.value).slice(0, 200)} vs ${String(r.value).slice(0, 200)}`;
    hash.update(l.value);
  }
}
