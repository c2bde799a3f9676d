import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { SessionCredentials } from './s3-signing-shim.js';

const HOST = fileURLToPath(new URL('./lambda-host.mjs', import.meta.url));

/** The deployed function as GetFunctionConfiguration describes it. */
export interface DeployedFunction {
  readonly name: string;
  readonly handler: string;
  readonly runtime: string;
  readonly timeoutSeconds: number;
  readonly memoryMiB: number;
  readonly environment: Readonly<Record<string, string>>;
}

export interface FunctionRuntime {
  invoke(event: SQSEvent): Promise<SQSBatchResponse>;
  /** What the bundle printed (its structured logs). */
  logs(): string;
  stop(): Promise<void>;
}

/** The bundle failed to load: typically an environment variable the template does not set. */
export class FunctionLoadError extends Error {
  override readonly name = 'FunctionLoadError';
}

/**
 * Runs the bundle in a child process with the deployed function's environment and nothing of this
 * process's: the variables of GetFunctionConfiguration, those the Lambda runtime adds, the role
 * session's credentials, and the endpoints of the emulator.
 */
export async function startFunctionRuntime(options: {
  readonly entry: string;
  readonly fn: DeployedFunction;
  readonly region: string;
  readonly credentials: SessionCredentials;
  readonly endpoints: { readonly default: string; readonly s3: string; readonly sts: string };
}): Promise<FunctionRuntime> {
  const { fn } = options;
  const handlerExport = fn.handler.slice(fn.handler.lastIndexOf('.') + 1);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    TZ: 'UTC',
    LANG: 'en_US.UTF-8',
    AWS_REGION: options.region,
    AWS_DEFAULT_REGION: options.region,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMiB),
    _HANDLER: fn.handler,
    AWS_ACCESS_KEY_ID: options.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: options.credentials.secretAccessKey,
    ...(options.credentials.sessionToken ? { AWS_SESSION_TOKEN: options.credentials.sessionToken } : {}),
    AWS_ENDPOINT_URL: options.endpoints.default,
    AWS_ENDPOINT_URL_S3: options.endpoints.s3,
    AWS_ENDPOINT_URL_STS: options.endpoints.sts,
    ...fn.environment,
    REHEARSAL_ENTRY: options.entry,
    REHEARSAL_HANDLER_EXPORT: handlerExport,
    REHEARSAL_TIMEOUT_MS: String(fn.timeoutSeconds * 1000),
  };
  const child: ChildProcess = fork(HOST, [], { env, execArgv: [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > 4_000_000) output = output.slice(-2_000_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const pending = new Map<number, { resolve: (r: SQSBatchResponse) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  child.on('message', (message: { type: string; id?: number; response?: SQSBatchResponse; message?: string }) => {
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id!);
    if (message.type === 'result') waiter.resolve(message.response ?? { batchItemFailures: [] });
    else waiter.reject(new Error(message.message));
  });
  child.on('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`the function process exited (${code}) during an invocation`));
    pending.clear();
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', (message: { type: string; message?: string }) => {
      if (message.type === 'ready') resolve();
      else reject(new FunctionLoadError(message.message ?? 'the bundle did not load'));
    });
    child.once('exit', (code) =>
      reject(new FunctionLoadError(`the function process exited (${code}) while loading: ${output.slice(-2000)}`)),
    );
  });
  return {
    invoke: (event) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        child.send({ type: 'invoke', id, event });
      }),
    logs: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A feed queue as the event source mapping polls it. */
export interface PolledQueue {
  readonly feed: string;
  readonly url: string;
  readonly arn: string;
}

/** One message the event source handed to the function, and what became of it. */
export interface Delivery {
  readonly feed: string;
  readonly body: string;
  readonly receiveCount: number;
  readonly failed: boolean;
  readonly error?: string;
}

/**
 * The event source mapping's part: receives from each feed queue with the function role's
 * credentials (as Lambda does), invokes the function with a batch of one record, deletes what
 * succeeded. A reported failure is made visible again at once (ChangeMessageVisibility 0): in AWS it
 * reappears after the visibility timeout (6 x the function timeout), which a rehearsal cannot wait
 * for; the redrive to the dead-letter queue after maxReceiveCount is then the emulator's own.
 * Returns when a whole round over the queues found nothing.
 */
export async function drainQueues(options: {
  readonly sqs: SQSClient;
  readonly queues: readonly PolledQueue[];
  readonly runtime: FunctionRuntime;
  readonly region: string;
  /** Corrects an emulator's message body before the function sees it (see emulator-gaps.ts). */
  readonly correctBody?: (body: string) => string;
  readonly maxRounds?: number;
}): Promise<Delivery[]> {
  const deliveries: Delivery[] = [];
  for (let round = 0; round < (options.maxRounds ?? 200); round++) {
    let received = 0;
    for (const queue of options.queues) {
      const result = await options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue.url,
          MaxNumberOfMessages: 1,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      for (const message of result.Messages ?? []) {
        received++;
        deliveries.push(await deliver(options, queue, message));
      }
    }
    if (received === 0) return deliveries;
  }
  throw new Error(`the feed queues were not empty after ${options.maxRounds ?? 200} rounds`);
}

async function deliver(
  options: {
    readonly sqs: SQSClient;
    readonly runtime: FunctionRuntime;
    readonly region: string;
    readonly correctBody?: (body: string) => string;
  },
  queue: PolledQueue,
  message: Message,
): Promise<Delivery> {
  const attributes = (message.Attributes ?? {}) as Record<string, string>;
  const event = {
    Records: [
      {
        messageId: message.MessageId!,
        receiptHandle: message.ReceiptHandle!,
        body: options.correctBody ? options.correctBody(message.Body ?? '') : (message.Body ?? ''),
        attributes: {
          ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
          SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
          SenderId: attributes.SenderId ?? '',
          ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: message.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: queue.arn,
        awsRegion: options.region,
      },
    ],
  } as SQSEvent;
  const receiveCount = Number(attributes.ApproximateReceiveCount ?? 1);
  let failed: boolean;
  let error: string | undefined;
  try {
    const response = await options.runtime.invoke(event);
    failed = response.batchItemFailures.some((f) => f.itemIdentifier === message.MessageId);
  } catch (err) {
    failed = true; // an invocation error fails the whole batch, as in Lambda
    error = (err as Error).message;
  }
  if (failed) {
    await options.sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: queue.url, ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 }),
    );
  } else {
    await options.sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: message.ReceiptHandle! }));
  }
  return { feed: queue.feed, body: message.Body ?? '', receiveCount, failed, ...(error ? { error } : {}) };
}
