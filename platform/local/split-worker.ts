/** One thread of the local split pool: runs chunks of split files, as the chunk Lambda does in AWS. */
import { parentPort, workerData } from 'node:worker_threads';
import { S3ObjectStore } from '../../lambdas/transformer/adapters/s3-object-store.js';
import type { PlatformBundle } from '../../lambdas/transformer/bundle.js';
import { compileFeeds } from '../../lambdas/transformer/compile-feeds.js';
import type { SplitChunk } from '../../lambdas/transformer/engine/split.js';
import { chunkStep, type PlannedRun } from '../../lambdas/transformer/split/split-run.js';
import { clientsFor } from './emulators.js';

export interface SplitWorkerData {
  readonly bundle: PlatformBundle;
  readonly endpoints: { s3: string; sqs: string; dynamodb: string };
  readonly outputBucket: string;
  readonly rejectsBucket: string;
}

export type SplitWorkerRequest = { readonly id: number; readonly run: PlannedRun; readonly chunk: SplitChunk };
export type SplitWorkerReply = { readonly id: number; readonly error?: string };

const data = workerData as SplitWorkerData;
const { s3 } = clientsFor(data.endpoints);
const deps = {
  config: data.bundle.config,
  configHash: data.bundle.configHash,
  feeds: compileFeeds(data.bundle.config),
  store: new S3ObjectStore(s3),
  outputBucket: data.outputBucket,
  rejectsBucket: data.rejectsBucket,
};

parentPort!.on('message', (request: SplitWorkerRequest) => {
  chunkStep(deps, request.run, request.chunk).then(
    () => parentPort!.postMessage({ id: request.id } satisfies SplitWorkerReply),
    (err: unknown) =>
      parentPort!.postMessage({
        id: request.id,
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      } satisfies SplitWorkerReply),
  );
});
