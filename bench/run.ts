/**
 * `npm run bench [-- --rows N --rounds R --naive-rounds R --cases a,b --engines engine,naive,duckdb,floor]`: the
 * benchmark suite (bench/cases.ts). For each case: its data generated once (bench/.cache), then the
 * engine (exactly as `partner-etl transform` runs it), the naive engine (csv-parse -> jsonata
 * evaluate per row -> Ajv), DuckDB doing the same mapping in SQL and the read-only floor, each in
 * its own process (so peak RSS is its own), in interleaved rounds (rotating the order), medians
 * reported. Also: the engine's output compared with the naive engine's, record for record; the
 * interpreter fallback rate of every mapping expression; the Lambda cost per GB from the engine's
 * throughput; the bundled handler's cold start. Prints tables and writes bench/results/latest.json.
 * A benchmark, not a test.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CASES, checkWideMapping } from './cases.js';
import { measureColdStart } from './cold-start.js';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? undefined : args[i + 1];
};
const rows = Number(option('rows') ?? 1_000_000);
const rounds = Number(option('rounds') ?? 3);
/** The naive engine is ten times slower than the others: it may run in fewer (the first) rounds. */
const naiveRounds = Number(option('naive-rounds') ?? rounds);
const ALL_ENGINES = ['engine', 'naive', 'duckdb', 'floor'] as const;
type Engine = (typeof ALL_ENGINES)[number];
const engines = (option('engines')?.split(',') ?? ALL_ENGINES) as Engine[];
const selected = option('cases')?.split(',');
const cases = CASES.filter((c) => !selected || selected.includes(c.name));
if (cases.length === 0 || engines.some((e) => !ALL_ENGINES.includes(e))) {
  console.error(
    `usage: npm run bench -- [--rows N] [--rounds R] [--cases ${CASES.map((c) => c.name).join(',')}] [--engines ${ALL_ENGINES.join(',')}]`,
  );
  process.exit(2);
}
checkWideMapping();

/** Lambda price (arm64, per GB-second) and the memory the cost is derived at. */
const LAMBDA_USD_PER_GB_SECOND = 0.0000133334;
const LAMBDA_MEMORY_GB = 2;
const PROBE_ROWS = 200_000;

const work = mkdtempSync(join(tmpdir(), 'partner-etl-bench-'));
const loadBefore = loadavg();
console.log(
  `bench: ${rows.toLocaleString('en-US')} rows a case, ${rounds} interleaved rounds, engines ${engines.join(', ')}; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`,
);

interface Run {
  seconds: number;
  /** User and system CPU time of the process (every thread): less sensitive than wall time to a busy machine. */
  cpuSeconds: number;
  rssMiB: number;
}
interface CaseResult {
  name: string;
  feed: string;
  bytes: number;
  runs: Partial<Record<Engine, Run[]>>;
  outputIdenticalToNaive?: true | string;
  fallbacks: { rows: number; expressions: { field: string; expression: string; compiled: boolean; fallbackRate: number }[] };
}

const results: CaseResult[] = [];
for (const bench of cases) {
  const file = await bench.generate(rows);
  const bytes = statSync(file).size;
  console.log(`\n${bench.name} (${bench.feed}): ${(bytes / 1e6).toFixed(1)} MB`);
  const result: CaseResult = { name: bench.name, feed: bench.feed, bytes, runs: {}, fallbacks: probe(bench.name, file) };
  for (let round = 0; round < rounds; round++) {
    const order = engines.map((_, i) => engines[(i + round) % engines.length]!).filter((e) => e !== 'naive' || round < naiveRounds);
    for (const engine of order) {
      const out = join(work, `${bench.name}.${engine}.out`);
      const run = runEngine(engine, bench.name, file, out);
      (result.runs[engine] ??= []).push(run);
      console.log(
        `  round ${round + 1} ${engine.padEnd(7)} ${run.seconds.toFixed(2)} s (CPU ${run.cpuSeconds.toFixed(2)} s), ${Math.round(run.rssMiB)} MiB`,
      );
    }
  }
  if (engines.includes('engine') && engines.includes('naive')) {
    result.outputIdenticalToNaive = await sameRecords(join(work, `${bench.name}.engine.out`), join(work, `${bench.name}.naive.out`));
  }
  for (const engine of engines) rmSync(join(work, `${bench.name}.${engine}.out`), { force: true });
  results.push(result);
}
const coldStart = await measureColdStart();
const loadAfter = loadavg();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round2 = (n: number) => Math.round(n * 100) / 100;
const summary = results.map((r) => {
  const engineStats = Object.fromEntries(
    engines.map((e) => {
      const runs = r.runs[e]!;
      const seconds = median(runs.map((x) => x.seconds));
      return [
        e,
        {
          seconds: round2(seconds),
          spread: runs.map((x) => round2(x.seconds)),
          cpuSeconds: round2(median(runs.map((x) => x.cpuSeconds))),
          rowsPerSecond: Math.round(rows / seconds),
          mbPerSecond: round2(r.bytes / 1e6 / seconds),
          peakRssMiB: Math.round(Math.max(...runs.map((x) => x.rssMiB))),
        },
      ];
    }),
  ) as Partial<
    Record<
      Engine,
      { seconds: number; spread: number[]; cpuSeconds: number; rowsPerSecond: number; mbPerSecond: number; peakRssMiB: number }
    >
  >;
  const e = engineStats.engine;
  return {
    case: r.name,
    feed: r.feed,
    bytes: r.bytes,
    engines: engineStats,
    engineVsNaiveRowsPerSecond: e && engineStats.naive ? round2(e.rowsPerSecond / engineStats.naive.rowsPerSecond) : undefined,
    engineVsDuckDbWallTime: e && engineStats.duckdb ? round2(e.seconds / engineStats.duckdb.seconds) : undefined,
    engineVsDuckDbCpuTime: e && engineStats.duckdb ? round2(e.cpuSeconds / engineStats.duckdb.cpuSeconds) : undefined,
    // one GB through a 2,048 MB function at the engine's measured throughput
    lambdaUsdPerGb: e ? round2((1e9 / (r.bytes / e.seconds)) * LAMBDA_MEMORY_GB * LAMBDA_USD_PER_GB_SECOND * 10000) / 10000 : undefined,
    outputIdenticalToNaive: r.outputIdenticalToNaive,
    fallbacks: r.fallbacks,
  };
});

console.log('\nmedians; vs naive: rows/s ratio; vs DuckDB: wall time ratio (CPU time ratio)');
console.log('case                 engine s   rows/s     naive s  DuckDB s  floor s  vs naive  vs DuckDB        RSS MiB  $/GB');
for (const s of summary) {
  const cell = (e: Engine, w: number) => (s.engines[e] ? s.engines[e]!.seconds.toFixed(2) : '-').padStart(w);
  console.log(
    `${s.case.padEnd(20)}${cell('engine', 9)}${(s.engines.engine?.rowsPerSecond.toLocaleString('en-US') ?? '-').padStart(9)}${cell('naive', 12)}${cell('duckdb', 10)}${cell('floor', 9)}${`${s.engineVsNaiveRowsPerSecond ?? '-'}x`.padStart(10)}${`${s.engineVsDuckDbWallTime ?? '-'}x (${s.engineVsDuckDbCpuTime ?? '-'}x)`.padStart(16)}${String(s.engines.engine?.peakRssMiB ?? '-').padStart(9)}${(s.lambdaUsdPerGb === undefined ? '-' : `$${s.lambdaUsdPerGb.toFixed(4)}`).padStart(9)}`,
  );
}
console.log('\ninterpreter fallback rate per expression (rows deferred / rows, first 200k rows):');
for (const s of summary) {
  const deferred = s.fallbacks.expressions.filter((x) => x.fallbackRate > 0);
  console.log(`  ${s.case}: ${s.fallbacks.expressions.length} expressions, ${deferred.length === 0 ? 'none falls back' : ''}`);
  for (const x of deferred)
    console.log(`    ${(x.fallbackRate * 100).toFixed(2)}% ${x.compiled ? '' : '(declined) '}${x.field}: ${x.expression}`);
}
for (const s of summary) {
  if (s.outputIdenticalToNaive !== undefined && s.outputIdenticalToNaive !== true)
    console.log(`\n${s.case}: output differs from the naive engine's: ${s.outputIdenticalToNaive}`);
}
console.log(
  `\ncold start of the bundled handler (${coldStart.bundleKiB} KiB with its map): import ${coldStart.importMs} ms, ready ${coldStart.readyMs} ms after process start (median of ${coldStart.runs})`,
);
console.log(`load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`);

mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(
  join(import.meta.dirname, 'results', 'latest.json'),
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model,
        node: process.version,
        loadAverageBefore: loadBefore,
        loadAverageAfter: loadAfter,
      },
      rows,
      rounds,
      lambda: { memoryMiB: LAMBDA_MEMORY_GB * 1024, usdPerGbSecond: LAMBDA_USD_PER_GB_SECOND },
      cases: summary,
      coldStart,
    },
    null,
    2,
  )}\n`,
);
rmSync(work, { recursive: true, force: true });
if (summary.some((s) => s.outputIdenticalToNaive !== undefined && s.outputIdenticalToNaive !== true)) process.exitCode = 1;

function runEngine(engine: Engine, name: string, file: string, out: string): Run {
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'engines', `${engine}.ts`), name, file, out], {
    encoding: 'utf8',
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    maxBuffer: 1 << 24,
  });
  if (child.status !== 0) throw new Error(`${engine} failed on ${name} (${child.status}): ${child.stderr}`);
  const result = JSON.parse(child.stdout) as Run & { code: number };
  if (result.code !== 0) throw new Error(`${engine} exited ${result.code} on ${name}: ${child.stderr}`);
  return result;
}

function probe(name: string, file: string): CaseResult['fallbacks'] {
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'engines', 'probe.ts'), name, file, String(PROBE_ROWS)],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    },
  );
  if (child.status !== 0) throw new Error(`fallback probe failed on ${name}: ${child.stderr}`);
  return JSON.parse(child.stdout) as CaseResult['fallbacks'];
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
