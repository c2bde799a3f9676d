import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { ObjectStore } from './adapters/object-store.js';
import { parseObjectEvents, type ObjectCreated } from './intake.js';
import { resolveFeed, type FeedConfig } from './model.js';
import { processObject, RetryLaterError, type AttemptStep, type ProcessorDeps, type ProcessResult } from './process-object.js';

/** What the handler reports: structured logs and metrics in Lambda, status lines locally. */
export interface Telemetry {
  /** One object done (processed, or found already finished) or left for later (busy). */
  finished(result: ProcessResult, object: ObjectCreated, requestId: string): void;
  /** A message that goes back to its queue (and after the redrive count, to the dead-letter queue). */
  failed(error: unknown, messageId: string, requestId: string): void;
  /**
   * An error the attempt handled itself: a failed cleanup, a publication step tried again (the
   * error that decides the message goes to `failed`).
   */
  stepFailed(step: AttemptStep, error: unknown, object: ObjectCreated, requestId: string): void;
}

export interface HandlerContext {
  readonly awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

export type SqsHandler = (event: SQSEvent, context: HandlerContext) => Promise<SQSBatchResponse>;

export interface HandlerDeps extends ProcessorDeps {
  readonly maxReceiveCount?: number;
  /**
   * The store a file of this feed is handled with (in AWS: credentials scoped to the feed). Without
   * it, every file uses `store`; a key of no feed always does (it is never read).
   */
  readonly storeFor?: (feed: FeedConfig) => ObjectStore;
}

/**
 * The SQS handler: each record's objects go through `processObject` one after the other; a record
 * that fails (poison, busy, or an error mid-file) is reported in `batchItemFailures` and never fails
 * its neighbours.
 */
export function createHandler(deps: HandlerDeps, telemetry: Telemetry): SqsHandler {
  return async (event, context) => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      const receives = Number(record.attributes?.ApproximateReceiveCount ?? 1);
      const ctx = {
        requestId: context.awsRequestId,
        remainingMs: () => context.getRemainingTimeInMillis(),
        lastDelivery: deps.maxReceiveCount !== undefined && receives >= deps.maxReceiveCount,
        stepFailed: (step: AttemptStep, object: ObjectCreated, error: unknown) =>
          telemetry.stepFailed(step, error, object, context.awsRequestId),
      };
      try {
        for (const object of parseObjectEvents(record.body)) {
          const feed = deps.storeFor && resolveFeed(deps.config, object.key);
          const result = await processObject(feed ? { ...deps, store: deps.storeFor!(feed) } : deps, object, ctx);
          telemetry.finished(result, object, context.awsRequestId);
          if (result.kind === 'busy') throw new RetryLaterError(`${object.key} is being processed by another attempt`);
        }
      } catch (err) {
        telemetry.failed(err, record.messageId, context.awsRequestId);
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  };
}
