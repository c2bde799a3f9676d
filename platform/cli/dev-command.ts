import { resolve } from 'node:path';
import { formatProblem } from '../config/problems.js';
import { startLocalPlatform, type ConfigReload, type Tracked } from '../local/local-platform.js';
import { safeWriter } from './terminal.js';

export interface DevOptions {
  readonly root: string;
  readonly inbox: string;
  readonly outbox: string;
  readonly stateDir: string;
  readonly once: boolean;
  readonly ports?: { readonly s3Sqs?: number; readonly dynamodb?: number };
}

/** How often the inbox and the partner files are looked at for new or changed files. */
const SCAN_MS = 1000;

/** The first 12 hex digits of a config hash: enough to tell configs apart on a screen. */
export function shortHash(hash: string): string {
  return hash.slice(0, 12);
}

/**
 * `partner-etl dev` (`npm start`): the local platform. Watches the inbox until Ctrl-C, or with
 * `--once` processes what is there and exits. Exit 0 when every finished file SUCCEEDED or was
 * PARTIAL (or a DUPLICATE of such), 1 otherwise.
 */
export async function runDevCommand(options: DevOptions): Promise<number> {
  const stdout = safeWriter(process.stdout);
  const out = (line: string) => stdout.write(`${line}\n`);
  const platform = await startLocalPlatform({
    root: options.root,
    inbox: resolve(options.inbox),
    outbox: resolve(options.outbox),
    stateDir: resolve(options.stateDir),
    log: out,
    ...(options.ports ? { ports: options.ports } : {}),
  });
  out(`partner-etl local platform: S3/SQS ${platform.emulators.endpoints.s3}, DynamoDB ${platform.emulators.endpoints.dynamodb}`);
  out(`inbox ${resolve(options.inbox)} -> outbox ${resolve(options.outbox)}; state in ${resolve(options.stateDir)}`);
  out(`config ${shortHash(platform.configHash)} is live (partners/ and mappings/ of ${options.root})`);

  if (options.once) {
    try {
      const uploaded = await platform.scanInbox();
      out(`uploaded ${uploaded.length} file${uploaded.length === 1 ? '' : 's'}; waiting for every final status`);
      const done = await platform.settle(10 * 60_000);
      printTable(done, out);
      return exitCode(done);
    } finally {
      await platform.stop();
    }
  }

  out('watching the inbox, partners/ and mappings/; Ctrl-C stops (in-flight files finish first)');
  await platform.scanInbox();
  let stopping = false;
  const timer = setInterval(() => {
    if (stopping) return;
    platform
      .reloadConfigIfChanged()
      .then((reload) => reload && printReload(reload, out))
      .catch((err: Error) => out(`config: ${err.message}`));
    platform.scanInbox().catch((err: Error) => out(`inbox: ${err.message}`));
  }, SCAN_MS);
  await new Promise<void>((resolveStop) => {
    const stop = () => {
      if (stopping) return;
      stopping = true;
      out('stopping: letting in-flight files finish');
      resolveStop();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  clearInterval(timer);
  await platform.stop();
  return exitCode(platform.tracked.filter((t) => t.record));
}

function printReload(reload: ConfigReload, out: (line: string) => void): void {
  if (reload.kind === 'applied') {
    out(
      `config ${shortHash(reload.configHash)} is live (was ${shortHash(reload.previousHash)}): ${reload.feeds} feeds; new deliveries and reprocess use it`,
    );
  } else if (reload.kind === 'rejected') {
    const n = reload.problems.length;
    out(`config change not applied: ${n} problem${n === 1 ? '' : 's'}; config ${shortHash(reload.configHash)} stays live`);
    for (const problem of reload.problems) out(`  ${formatProblem(problem)}`);
  }
}

function exitCode(files: readonly Tracked[]): number {
  return files.every((t) => t.record && ['SUCCEEDED', 'PARTIAL', 'DUPLICATE'].includes(t.record.status)) ? 0 : 1;
}

function printTable(files: readonly Tracked[], out: (line: string) => void): void {
  out('');
  out(`${'status'.padEnd(10)}${'feed'.padEnd(20)}${'rows in/out/rejected'.padEnd(22)}key`);
  for (const { object, record } of files) {
    const rows = record?.rowsIn === undefined ? '' : `${record.rowsIn}/${record.rowsOut}/${record.rowsRejected}`;
    out(`${(record?.status ?? '?').padEnd(10)}${`${record?.partner}/${record?.feed}`.padEnd(20)}${rows.padEnd(22)}${object.key}`);
  }
  const ok = files.filter((t) => t.record && ['SUCCEEDED', 'PARTIAL', 'DUPLICATE'].includes(t.record.status)).length;
  out(`\n${files.length} files: ${ok} succeeded, partial or duplicate; ${files.length - ok} failed`);
}
