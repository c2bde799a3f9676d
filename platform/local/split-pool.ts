/**
 * The local platform's stand-in for the split state machine: the same plan, chunk and reduce steps
 * as the Step Functions tasks, with the map run by a pool of worker threads (one per core by
 * default), each with its own S3 client on the emulator. Steps are retried as the state machine
 * retries its tasks; a run that still fails is recorded FAILED by the same failure step.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { FileRecord } from '../../lambdas/transformer/ledger/file-ledger.js';
import type { SplitChunk } from '../../lambdas/transformer/engine/split.js';
import {
  chunkStep,
  failStep,
  planStep,
  readPlan,
  reduceStep,
  type PlannedRun,
  type SplitDeps,
} from '../../lambdas/transformer/split/split-run.js';
import type { SplitRunInput, SplitRunner } from '../../lambdas/transformer/split/split-runner.js';
import type { SplitWorkerData, SplitWorkerReply, SplitWorkerRequest } from './split-worker.js';

/** Tries of each step, as the state machine's Retry (the first try and two retries). */
const TRIES = 3;
const RETRY_DELAY_MS = 200;

export interface SplitPoolOptions {
  readonly deps: SplitDeps;
  /** What each worker thread needs to build its own chunk deps. */
  readonly worker: SplitWorkerData;
  /** Worker threads; default one per core. 0 runs chunks on this thread (tests). */
  readonly workers?: number;
  /** Called once per run with the final record (undefined when the run no longer held its file). */
  readonly onFinished?: (input: SplitRunInput, record: FileRecord | undefined, chunks: number) => void;
  readonly log?: (line: string) => void;
}

export interface SplitPool extends SplitRunner {
  /** Resolves when every run started so far has ended. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export function startSplitPool(options: SplitPoolOptions): SplitPool {
  const runs = new Map<string, Promise<void>>();
  const threads = startThreads(options.worker, options.workers ?? availableParallelism());
  const runChunk = (run: PlannedRun, chunk: SplitChunk) =>
    threads ? threads.run(run, chunk) : chunkStep(options.deps, run, chunk).then(() => undefined);

  const execute = async (name: string, input: SplitRunInput): Promise<void> => {
    let chunks = 0;
    try {
      const run = await retried(() => planStep(options.deps, input));
      chunks = run.chunks;
      const plan = await retried(() => readPlan(options.deps, run));
      await Promise.all(plan.map((chunk) => retried(() => runChunk(run, chunk))));
      const record = await retried(() => reduceStep(options.deps, run));
      options.onFinished?.(input, record, chunks);
    } catch (err) {
      const cause = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      options.log?.(`SPLIT     ${input.object.key}: run ${name} failed (${cause})`);
      const record = await retried(() => failStep(options.deps, input, cause)).catch((failure: Error) => {
        options.log?.(`SPLIT     ${input.object.key}: could not record the failure (${failure.message}); the lease expires`);
        return undefined;
      });
      options.onFinished?.(input, record, chunks);
    }
  };

  return {
    async start(name, input) {
      if (!runs.has(name)) runs.set(name, execute(name, input));
    },
    async idle() {
      let size: number;
      do {
        size = runs.size;
        await Promise.all(runs.values());
      } while (runs.size !== size);
    },
    async stop() {
      await this.idle();
      await threads?.stop();
    },
  };
}

async function retried<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (attempt >= TRIES) throw err;
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * attempt));
    }
  }
}

/** Worker threads running chunks, each one chunk at a time; chunks wait for a free thread. */
function startThreads(data: SplitWorkerData, count: number) {
  if (count <= 0) return undefined;
  const script = new URL('./split-worker.mjs', import.meta.url);
  const waiting: { request: SplitWorkerRequest; done: (error?: string) => void }[] = [];
  const pending = new Map<number, (error?: string) => void>();
  const idle: Worker[] = [];
  const inFlight = new Map<Worker, number>();
  let nextId = 0;
  const spawn = () => {
    const worker = new Worker(script, { workerData: data });
    worker.on('message', (reply: SplitWorkerReply) => {
      pending.get(reply.id)?.(reply.error);
      pending.delete(reply.id);
      inFlight.delete(worker);
      dispatch(worker);
    });
    worker.on('error', (err) => {
      const current = inFlight.get(worker);
      if (current !== undefined) pending.get(current)?.(`worker thread died: ${err.message}`);
      if (current !== undefined) pending.delete(current);
      inFlight.delete(worker);
      const i = idle.indexOf(worker);
      if (i !== -1) idle.splice(i, 1);
      spawn();
    });
    dispatch(worker);
    workers.push(worker);
  };
  const send = (worker: Worker, request: SplitWorkerRequest, done: (error?: string) => void) => {
    inFlight.set(worker, request.id);
    pending.set(request.id, done);
    worker.postMessage(request);
  };
  const dispatch = (worker: Worker) => {
    const task = waiting.shift();
    if (task) send(worker, task.request, task.done);
    else idle.push(worker);
  };
  const workers: Worker[] = [];
  for (let i = 0; i < count; i++) spawn();
  return {
    run(run: PlannedRun, chunk: SplitChunk): Promise<void> {
      return new Promise((resolve, reject) => {
        const request = { id: nextId++, run, chunk };
        const done = (error?: string) => (error ? reject(new Error(error)) : resolve());
        const free = idle.pop();
        if (free) {
          send(free, request, done);
        } else {
          waiting.push({ request, done });
        }
      });
    },
    async stop() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
