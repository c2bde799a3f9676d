import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** The account moto serves by default; every ARN of the rehearsal names it. */
export const MOTO_ACCOUNT = '123456789012';

/** How to get moto, printed wherever the rehearsal cannot run. */
export const MOTO_INSTALL_HINT = 'pip install "moto[server]"';

/** The `moto_server` executable on PATH, or undefined. */
export function findMotoServer(pathVariable = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathVariable.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'moto_server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface MotoServer {
  readonly endpoint: string;
  readonly pid: number;
  /** Everything moto printed so far (request lines, warnings such as unsupported resource types). */
  log(): string;
  /** Lets the next `count` unauthenticated requests through; then every request is evaluated against IAM again. */
  allowUnauthenticated(count: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts `moto_server` on 127.0.0.1 (never another address) on a free port, with IAM enforcement
 * after `unauthenticatedRequests` requests (`INITIAL_NO_AUTH_ACTION_COUNT`). The process is killed
 * by its pid on `stop()`, on this process's exit and on SIGINT/SIGTERM.
 */
export async function startMotoServer(options: { unauthenticatedRequests: number; executable?: string }): Promise<MotoServer> {
  const executable = options.executable ?? findMotoServer();
  if (!executable) throw new Error(`moto_server is not on PATH; install it with ${MOTO_INSTALL_HINT}`);
  const port = await freeLoopbackPort();
  const child = spawn(executable, ['-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: String(options.unauthenticatedRequests) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > 4_000_000) output = output.slice(-2_000_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  const onSignal = (signal: NodeJS.Signals) => {
    kill();
    process.kill(process.pid, signal);
  };
  process.once('exit', kill);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const detach = () => {
    process.off('exit', kill);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(endpoint, child, () => output);
  } catch (err) {
    kill();
    detach();
    throw err;
  }
  return {
    endpoint,
    pid: child.pid!,
    log: () => output,
    async allowUnauthenticated(count) {
      const response = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: String(count) });
      if (!response.ok) throw new Error(`moto refused /moto-api/reset-auth: HTTP ${response.status}`);
    },
    async stop() {
      detach();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitUntilReady(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode}: ${output().slice(-2000)}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`moto_server did not answer on ${endpoint} within 30 s: ${output().slice(-2000)}`);
}

/** A port that was free on 127.0.0.1 a moment ago (moto binds it right after). */
async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
