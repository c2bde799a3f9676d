/**
 * Fault injection at the transformer's ports, for the chaos run and the crash tests: the ledger,
 * the object store and the event publisher are wrapped the way the SDK clients are (`withChaos`),
 * so the handler runs unchanged. A crash anywhere in an attempt is one of two things at a port:
 * a call that never happens (`before`), or a call whose effect happens but whose answer is lost
 * (`after`). Both surface as an error thrown from the port.
 */
import type { EventPublisher, ObjectStore, PendingUpload } from '../../lambdas/transformer/adapters/object-store.js';
import type { FileLedger } from '../../lambdas/transformer/ledger/file-ledger.js';

type LedgerMethod = { [K in keyof FileLedger]: FileLedger[K] extends (...args: never[]) => unknown ? K : never }[keyof FileLedger];

/** Every port call a fault can hit. */
export type PortCall =
  `ledger.${LedgerMethod}` | 'store.open' | 'store.list' | 'store.put' | 'store.delete' | 'store.commit' | 'store.abort' | 'events.publish';

export type FaultTiming = 'before' | 'after';

export interface PortFaults {
  /** Asked before each call with the object key it concerns: fail it before or after it takes effect, or not at all. */
  inject(call: PortCall, key: string): FaultTiming | undefined;
}

/** The error a port throws when a fault hits it. */
export class InjectedFault extends Error {
  override readonly name = 'InjectedFault';
  constructor(
    readonly call: PortCall,
    readonly timing: FaultTiming,
    readonly key: string,
  ) {
    super(`injected fault ${timing} ${call} (${key})`);
  }
}

async function guarded<T>(faults: PortFaults, call: PortCall, key: string, run: () => Promise<T>): Promise<T> {
  const timing = faults.inject(call, key);
  if (timing === 'before') throw new InjectedFault(call, timing, key);
  const result = await run();
  if (timing === 'after') throw new InjectedFault(call, timing, key);
  return result;
}

/** The ledger, failing where `faults` says. Methods take the object (its key) or a bucket and a key. */
export function faultyLedger(ledger: FileLedger, faults: PortFaults): FileLedger {
  return new Proxy(ledger, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        const [first, second] = args;
        const key = typeof first === 'object' && first !== null && 'key' in first ? String(first.key) : String(second ?? '');
        return guarded(faults, `ledger.${property as LedgerMethod}`, key, () =>
          (value as (...a: unknown[]) => Promise<unknown>).apply(target, args),
        );
      };
    },
  });
}

/** The object store, failing where `faults` says; an upload fails at its commit or abort. */
export function faultyStore(store: ObjectStore, faults: PortFaults): ObjectStore {
  return {
    open: (bucket, key, versionId) => guarded(faults, 'store.open', key, () => store.open(bucket, key, versionId)),
    put: (bucket, key, body, contentType) => guarded(faults, 'store.put', key, () => store.put(bucket, key, body, contentType)),
    delete: (bucket, key) => guarded(faults, 'store.delete', key, () => store.delete(bucket, key)),
    list: (bucket, prefix) => guarded(faults, 'store.list', prefix, () => store.list(bucket, prefix)),
    upload(bucket, key, contentType): PendingUpload {
      const pending = store.upload(bucket, key, contentType);
      return {
        stream: pending.stream,
        commit: () => guarded(faults, 'store.commit', key, () => pending.commit()),
        abort: () => guarded(faults, 'store.abort', key, () => pending.abort()),
      };
    },
  };
}

/** The event publisher, failing where `faults` says (`after`: the event went out, the caller saw an error). */
export function faultyEvents(events: EventPublisher, faults: PortFaults): EventPublisher {
  return {
    publish: (detailType, detail) => guarded(faults, 'events.publish', String(detail.key), () => events.publish(detailType, detail)),
  };
}

/** All three ports wrapped with the same faults. */
export function withPortFaults<P extends { ledger: FileLedger; store: ObjectStore; events: EventPublisher }>(
  ports: P,
  faults: PortFaults,
): P {
  return {
    ...ports,
    ledger: faultyLedger(ports.ledger, faults),
    store: faultyStore(ports.store, faults),
    events: faultyEvents(ports.events, faults),
  };
}
