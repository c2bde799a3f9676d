/**
 * `npm run bench:local`: N files (default 1,000) across the sample feeds dropped into the local
 * platform's inbox at once. Checks that every file reaches a final status, none is lost and
 * rowsIn = rowsOut + rowsRejected for each; prints files/s, p50/p95 latency from upload to final
 * status (the ledger's finishedAt) and peak RSS. A benchmark, not a test.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findGoldenCases, sampleKey } from '../platform/config/golden.js';
import { requireValidConfig } from '../platform/config/load-config.js';
import { startLocalPlatform } from '../platform/local/local-platform.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // the lockfile pins the SDK

const count = Number(process.argv[2] ?? 1000);
const root = join(import.meta.dirname, '..');
const cases = findGoldenCases(root, requireValidConfig(root));
const dir = mkdtempSync(join(tmpdir(), 'partner-etl-bench-'));
const inbox = join(dir, 'inbox');

for (let i = 0; i < count; i++) {
  const c = cases[i % cases.length]!;
  const key = sampleKey(c).replace(/([^/]+)$/, `${i}-$1`);
  const path = join(inbox, ...key.split('/'));
  mkdirSync(join(path, '..'), { recursive: true });
  // every file distinct (no DUPLICATEs): the sample with a trailing blank line count that varies
  writeFileSync(path, Buffer.concat([readFileSync(join(root, c.csv)), Buffer.from('\n'.repeat(1 + (i % 7)))]));
}

const platform = await startLocalPlatform({
  root,
  inbox,
  outbox: join(dir, 'outbox'),
  stateDir: join(dir, 'state'),
  log: () => undefined,
  seedSamples: false,
});
const started = performance.now();
const uploaded = await platform.scanInbox();
const uploadedAt = new Map(uploaded.map((t) => [`${t.object.key}#${t.object.sequencer}`, Date.parse(t.object.time)]));
const done = await platform.settle(30 * 60_000);
const seconds = (performance.now() - started) / 1000;
await platform.stop();

const latencies = done
  .map((t) => Date.parse(t.record!.finishedAt!) - uploadedAt.get(`${t.object.key}#${t.object.sequencer}`)!)
  .sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
const byStatus: Record<string, number> = {};
let balanced = 0;
for (const t of done) {
  byStatus[t.record!.status] = (byStatus[t.record!.status] ?? 0) + 1;
  if (t.record!.rowsIn === t.record!.rowsOut! + t.record!.rowsRejected!) balanced++;
}
const result = {
  files: count,
  uploaded: uploaded.length,
  final: done.length,
  lost: count - done.length,
  rowsBalanced: balanced,
  byStatus,
  seconds: Math.round(seconds * 100) / 100,
  filesPerSecond: Math.round((count / seconds) * 10) / 10,
  latencyMs: { p50: pct(50), p95: pct(95), max: latencies.at(-1) },
  peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  node: process.version,
};
console.log(JSON.stringify(result, null, 2));
if (result.lost !== 0 || balanced !== count || (byStatus.FAILED ?? 0) > 0) {
  console.error('bench:local: a file was lost, unbalanced or FAILED');
  process.exit(1);
}
