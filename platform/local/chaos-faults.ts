import { appendFileSync } from 'node:fs';
import type { FaultTiming, PortCall, PortFaults } from './port-faults.js';

/** Deterministic pseudo-random numbers (mulberry32): a chaos run with a seed can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ChaosFaultOptions {
  /** Probability that a ledger, object-store or event call fails, before or after it takes effect (a crash there). */
  readonly crashRate: number;
  /** Probability that an S3 or DynamoDB call is throttled, and that one is slow. */
  readonly throttleRate: number;
  readonly slowRate: number;
  readonly slowMs: number;
  /** Keys whose every attempt crashes: they must end FAILED, in their dead-letter queue. */
  readonly isPoison: (key: string) => boolean;
  readonly random: () => number;
  /** One line per injected fault (the driver counts them; a killed process cannot report). */
  readonly logFile: string;
}

/** Crashes at random port calls (half before the call, half after it took effect), and always for poison files. */
export class ChaosFaults implements PortFaults {
  constructor(private readonly options: ChaosFaultOptions) {}

  inject(call: PortCall, key: string): FaultTiming | undefined {
    if (call === 'store.open' && this.options.isPoison(key)) return 'before';
    if (this.options.random() >= this.options.crashRate) return undefined;
    const timing = this.options.random() < 0.5 ? 'before' : 'after';
    appendFileSync(this.options.logFile, `crash ${timing} ${call}\n`);
    return timing;
  }
}

/**
 * Makes an SDK client throttle and stall at random, as S3 and DynamoDB do under load: a middleware
 * inside the SDK's retry step (so throttling meets the SDK's own retries and backoff, as in
 * production), added to the client's stack so clients built on it (the document client) inherit it.
 */
export function withChaos<T extends { middlewareStack: { add: (mw: never, options: never) => void } }>(
  client: T,
  options: ChaosFaultOptions,
  name: string,
): T {
  const middleware =
    (next: (args: unknown) => Promise<unknown>) =>
    async (args: unknown): Promise<unknown> => {
      if (options.random() < options.slowRate) {
        appendFileSync(options.logFile, `slow ${name}\n`);
        await new Promise((resolve) => setTimeout(resolve, options.slowMs));
      }
      if (options.random() < options.throttleRate) {
        appendFileSync(options.logFile, `throttle ${name}\n`);
        throw Object.assign(new Error(`${name}: Rate exceeded (injected)`), {
          name: 'ThrottlingException',
          $metadata: { httpStatusCode: 400 },
        });
      }
      return next(args);
    };
  client.middlewareStack.add(middleware as never, { step: 'finalizeRequest', priority: 'low', name: 'chaosFaults' } as never);
  return client;
}
