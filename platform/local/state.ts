import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** What a running local platform publishes in its state folder for the CLI to find. */
export interface LocalPlatformState {
  readonly pid: number;
  readonly startedAt: string;
  /** The config folder it runs (`--root`). */
  readonly root: string;
  /** The hash of the config live now (it changes when `dev` reloads the partner files). */
  readonly configHash: string;
  readonly endpoints: { readonly s3: string; readonly sqs: string; readonly dynamodb: string };
  readonly tableName: string;
  readonly buckets: { readonly inbound: string; readonly output: string; readonly rejects: string };
  /** Feed (`partner/feed`) -> queue URL. */
  readonly queues: Readonly<Record<string, string>>;
}

export const LOCAL_NAMES = {
  tableName: 'partner-etl-ledger',
  buckets: { inbound: 'partner-etl-inbound', output: 'partner-etl-output', rejects: 'partner-etl-rejects' },
} as const;

/** Where dynalite keeps the ledger, so statuses survive a restart. */
export function dynamoDataPath(stateDir: string): string {
  return join(stateDir, 'dynamodb');
}

function statePath(stateDir: string): string {
  return join(stateDir, 'platform.json');
}

/**
 * Running platforms of this user, one file per process naming its state folder, so a command given
 * the wrong `--state` can say where the running one is. Under the temporary folder: it describes
 * processes, which do not outlive a reboot.
 */
function registryDir(): string {
  return join(tmpdir(), `partner-etl-${process.getuid?.() ?? 'user'}`, 'running');
}

/** `<pid>-<folder hash>.json`: one process may run several platforms (tests do). */
function registryEntry(stateDir: string, pid = process.pid): string {
  return join(registryDir(), `${pid}-${createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 16)}.json`);
}

export function writeState(stateDir: string, state: LocalPlatformState): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(statePath(stateDir), `${JSON.stringify(state, null, 2)}\n`);
  mkdirSync(registryDir(), { recursive: true });
  writeFileSync(registryEntry(stateDir, state.pid), JSON.stringify({ stateDir: resolve(stateDir) }));
}

export function clearState(stateDir: string): void {
  rmSync(statePath(stateDir), { force: true });
  rmSync(registryEntry(stateDir), { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The state of the platform running now, if one is (its process is alive). */
export function readRunningState(stateDir: string): LocalPlatformState | undefined {
  if (!existsSync(statePath(stateDir))) return undefined;
  const state = JSON.parse(readFileSync(statePath(stateDir), 'utf8')) as LocalPlatformState;
  return alive(state.pid) ? state : undefined; // else a stale file from a platform that did not stop cleanly
}

/** The state folders of every local platform of this user running now. */
export function runningStateDirs(): string[] {
  if (!existsSync(registryDir())) return [];
  const dirs: string[] = [];
  for (const name of readdirSync(registryDir())) {
    const pid = Number(name.split('-')[0]);
    if (!Number.isInteger(pid) || !alive(pid)) continue;
    try {
      const { stateDir } = JSON.parse(readFileSync(join(registryDir(), name), 'utf8')) as { stateDir: string };
      if (readRunningState(stateDir)?.pid === pid) dirs.push(stateDir);
    } catch {
      // written while we read, or removed: not a platform to name
    }
  }
  return dirs.sort();
}

/** Keeps the platform's `--root` in its state folder, so `status` finds the feeds' schedules without it. */
export function rememberRoot(stateDir: string, root: string): void {
  writeFileSync(join(stateDir, 'root.json'), `${JSON.stringify({ root: resolve(root) })}\n`);
}

/** The `--root` the platform of this state folder last ran with. */
export function rememberedRoot(stateDir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(stateDir, 'root.json'), 'utf8')) as { root?: string }).root;
  } catch {
    return undefined;
  }
}
