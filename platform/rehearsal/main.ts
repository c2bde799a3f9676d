/**
 * `npm run rehearse`: deploys the synthesised stack into moto_server and drives files through it
 * (platform/rehearsal/rehearsal.ts); prints a table of the checks and exits 1 on any failure, 2 when
 * moto_server is not installed.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findMotoServer, MOTO_INSTALL_HINT } from './moto-server.js';
import { formatTable } from './report.js';
import { rehearse } from './rehearsal.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function main(): Promise<number> {
  if (!findMotoServer()) {
    process.stderr.write(`rehearsal NOT RUN: moto_server is not on PATH; install it with ${MOTO_INSTALL_HINT}\n`);
    return 2;
  }
  const started = Date.now();
  const report = await rehearse({
    root: process.env.PARTNER_ETL_ROOT ?? REPO_ROOT,
    onProgress: (line) => process.stderr.write(`rehearsal: ${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s  ${line}\n`),
  });
  process.stdout.write(`${formatTable(report.results, process.stdout.columns ?? 140)}\n`);
  process.stdout.write(`rehearsal took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  if (!report.ok) {
    const logs = join(tmpdir(), `partner-etl-rehearsal-${process.pid}`);
    writeFileSync(`${logs}.function.log`, report.functionLog);
    writeFileSync(`${logs}.moto.log`, report.motoLog);
    process.stdout.write(`the function's log: ${logs}.function.log; moto's log: ${logs}.moto.log\n`);
  }
  return report.ok ? 0 : 1;
}

process.exitCode = await main();
