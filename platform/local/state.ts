import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What a running local platform publishes in its state folder for the CLI to find. */
export interface LocalPlatformState {
  readonly pid: number;
  readonly startedAt: string;
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

export function writeState(stateDir: string, state: LocalPlatformState): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(statePath(stateDir), `${JSON.stringify(state, null, 2)}\n`);
}

export function clearState(stateDir: string): void {
  rmSync(statePath(stateDir), { force: true });
}

/** The state of the platform running now, if one is (its process is alive). */
export function readRunningState(stateDir: string): LocalPlatformState | undefined {
  if (!existsSync(statePath(stateDir))) return undefined;
  const state = JSON.parse(readFileSync(statePath(stateDir), 'utf8')) as LocalPlatformState;
  try {
    process.kill(state.pid, 0);
    return state;
  } catch {
    return undefined; // a stale file from a platform that did not stop cleanly
  }
}
