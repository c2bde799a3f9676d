import { randomUUID } from 'node:crypto';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { SqsHandler } from '../../lambdas/transformer/create-handler.js';

export interface PolledQueue {
  readonly url: string;
  /** Concurrent pollers (the feed's maximum concurrency), one message per batch as the stack's mapping. */
  readonly concurrency: number;
}

export interface Pollers {
  /** Stops receiving; in-flight invocations finish, unreceived messages stay for redelivery. */
  stop(): Promise<void>;
}

/**
 * Lambda's SQS event source mapping, locally: long-poll each queue, invoke the handler with a real
 * SQS batch and the invocation's deadline, delete what succeeded; failed messages come back after
 * their visibility timeout and move to the dead-letter queue after the redrive count.
 */
export function startPollers(options: {
  sqs: SQSClient;
  queues: readonly PolledQueue[];
  handler: SqsHandler;
  timeoutSeconds: number;
  log: (line: string) => void;
}): Pollers {
  const { sqs, handler } = options;
  let running = true;
  const inFlight = new Set<Promise<unknown>>();

  const invoke = async (url: string, messages: Message[]) => {
    const event: SQSEvent = { Records: messages.map((m) => toSqsRecord(m, url)) };
    const deadline = Date.now() + options.timeoutSeconds * 1000;
    const result = await handler(event, { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => deadline - Date.now() });
    const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
    const done = messages.filter((m) => !failed.has(m.MessageId!));
    if (done.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: url, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }),
      );
    }
  };

  const poll = async (url: string) => {
    while (running) {
      let messages: Message[] = [];
      try {
        const received = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 1, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }),
        );
        messages = received.Messages ?? [];
      } catch (err) {
        if (!running) return;
        options.log(`poller ${url}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      if (messages.length === 0 || !running) continue;
      const work = invoke(url, messages).catch((err: Error) => options.log(`invocation on ${url}: ${err.message}`));
      inFlight.add(work);
      await work.finally(() => inFlight.delete(work));
    }
  };

  const loops = options.queues.flatMap((q) => Array.from({ length: q.concurrency }, () => poll(q.url)));
  return {
    async stop() {
      running = false;
      await Promise.allSettled([...inFlight]);
      await Promise.allSettled(loops);
    },
  };
}

function toSqsRecord(m: Message, url: string): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${url.split('/').pop()}`,
    awsRegion: 'us-east-1',
  };
}
