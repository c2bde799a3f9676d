import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Server } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';

/** Region and credentials of the local platform: any non-empty strings work with the emulators. */
export const LOCAL_AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

export interface EmulatorOptions {
  /** Folder for dynalite's data, so the ledger survives a restart; in memory when absent. */
  readonly dynamoPath?: string;
  /** Ports; 0 (any free port) by default. */
  readonly s3SqsPort?: number;
  readonly dynamoPort?: number;
}

/** Running S3/SQS (fauxqs) and DynamoDB (dynalite) on loopback, with SDK clients pointed at them. */
export interface Emulators {
  readonly endpoints: { readonly s3: string; readonly sqs: string; readonly dynamodb: string };
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
  stop(): Promise<void>;
}

/** The emulators are development dependencies: an install without them (`npm ci --omit=dev`) says so. */
export class EmulatorsMissingError extends Error {
  override readonly name = 'EmulatorsMissingError';
}

async function importEmulator<T>(name: 'fauxqs' | 'dynalite'): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new EmulatorsMissingError(
      `the local platform runs on emulators (fauxqs, dynalite) that come with the development dependencies; ${name} is not installed: run npm ci without --omit=dev`,
      { cause: err },
    );
  }
}

/** Starts both emulators in this process. */
export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  // dynalite ships no types; see platform/local/dynalite.d.ts
  const { default: dynalite } = await importEmulator<typeof import('dynalite')>('dynalite');
  const fauxqs = await startFauxqsOnLoopback(options.s3SqsPort ?? 0);
  const dynamo: Server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.dynamoPath ? { path: options.dynamoPath } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    dynamo.once('error', reject);
    dynamo.listen(options.dynamoPort ?? 0, '127.0.0.1', () => resolve());
  });
  const s3sqs = `http://127.0.0.1:${fauxqs.port}`;
  const ddb = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
  const clients = clientsFor({ s3: s3sqs, sqs: s3sqs, dynamodb: ddb });
  return {
    endpoints: { s3: s3sqs, sqs: s3sqs, dynamodb: ddb },
    ...clients,
    async stop() {
      clients.s3.destroy();
      clients.sqs.destroy();
      clients.dynamodb.destroy();
      await fauxqs.stop();
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
    },
  };
}

/**
 * fauxqs's own `startFauxqs` listens on 0.0.0.0, which would expose the emulated buckets and queues
 * to the network. Its exported `buildApp` takes the stores, so the same server is started here on
 * loopback only. The stores are not exported, so they are loaded from the installed package's files
 * (its version is pinned in the lockfile; the emulator tests fail loudly if the layout changes).
 */
async function startFauxqsOnLoopback(port: number): Promise<{ port: number; stop(): Promise<void> }> {
  const { buildApp } = await importEmulator<{ buildApp: (o: unknown) => FastifyLike }>('fauxqs');
  const dist = dirname(fileURLToPath(import.meta.resolve('fauxqs')));
  const load = async <T>(file: string, name: string): Promise<T> => {
    const mod = (await import(pathToFileURL(join(dist, file)).href)) as Record<string, T>;
    if (!mod[name]) throw new Error(`fauxqs ${file} no longer exports ${name}; update platform/local/emulators.ts`);
    return mod[name];
  };
  type Store = new () => object;
  const [SqsStore, SnsStore, S3Store] = await Promise.all([
    load<Store>('sqs/sqsStore.js', 'SqsStore'),
    load<Store>('sns/snsStore.js', 'SnsStore'),
    load<Store>('s3/s3Store.js', 'S3Store'),
  ]);
  const app = buildApp({ logger: false, stores: { sqsStore: new SqsStore(), snsStore: new SnsStore(), s3Store: new S3Store() } });
  const address = await app.listen({ port, host: '127.0.0.1' });
  return { port: Number(new URL(address).port), stop: () => app.close() };
}

interface FastifyLike {
  listen(options: { port: number; host: string }): Promise<string>;
  close(): Promise<void>;
}

/** SDK clients for emulator endpoints (path-style S3: `*.localhost` does not resolve here). */
export function clientsFor(endpoints: { s3: string; sqs: string; dynamodb: string }) {
  return {
    s3: new S3Client({ ...LOCAL_AWS, endpoint: endpoints.s3, forcePathStyle: true }),
    sqs: new SQSClient({ ...LOCAL_AWS, endpoint: endpoints.sqs }),
    dynamodb: new DynamoDBClient({ ...LOCAL_AWS, endpoint: endpoints.dynamodb }),
  };
}
