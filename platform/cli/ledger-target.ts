import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ObjectCreated } from '../../lambdas/transformer/intake.js';
import { DynamoDbFileLedger } from '../../lambdas/transformer/ledger/dynamodb-ledger.js';
import type { FileLedger } from '../../lambdas/transformer/ledger/file-ledger.js';
import { STACK_OUTPUTS, stackNameOf } from '../cdk/stack-outputs.js';
import { clientsFor, startEmulators } from '../local/emulators.js';
import { objectCreatedEvent } from '../local/s3-events.js';
import { dynamoDataPath, LOCAL_NAMES, readRunningState, runningStateDirs } from '../local/state.js';

/** The ledger of a deployed stage or of the local platform, with a way to redeliver a file. */
export interface LedgerTarget {
  /** The ledger as a noun phrase for sentences: "the ledger of the local platform (pid 12, config 3f2a...)". */
  readonly description: string;
  /** The platform that takes redeliveries, as a noun phrase ("stage dev (stack PartnerEtl-dev)"); undefined when none runs. */
  readonly platform?: string;
  readonly ledger: FileLedger;
  readonly inboundBucket: string;
  /** Sends the file's "Object Created" event to its feed's queue; undefined when nothing is running to take it. */
  readonly redeliver?: (object: ObjectCreated, feed: string) => Promise<void>;
  close(): Promise<void>;
}

export class TargetError extends Error {
  override readonly name = 'TargetError';
}

/**
 * `--stage S`: the stack `PartnerEtl-S` found through CloudFormation, with the normal SDK
 * configuration for region and credentials. Otherwise the local platform in `stateDir`: the running
 * one, or its persisted ledger opened read-write on a private emulator when it is not running.
 */
export async function openLedgerTarget(options: { stage?: string; stateDir: string }): Promise<LedgerTarget> {
  if (options.stage) return openStage(options.stage);
  const running = readRunningState(options.stateDir);
  if (running) {
    const clients = clientsFor(running.endpoints);
    const platform = `the local platform running in ${options.stateDir} (pid ${running.pid}, config ${running.configHash.slice(0, 12)})`;
    return {
      description: `the ledger of ${platform}`,
      platform,
      ledger: new DynamoDbFileLedger(clients.dynamodb, running.tableName),
      inboundBucket: running.buckets.inbound,
      redeliver: async (object, feed) => {
        const url = running.queues[feed];
        if (!url) throw new TargetError(`the local platform has no queue for ${feed}`);
        await clients.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify(objectCreatedEvent(object)) }));
      },
      close: async () => {
        clients.dynamodb.destroy();
        clients.sqs.destroy();
        clients.s3.destroy();
      },
    };
  }
  const emulators = await startEmulators({ dynamoPath: dynamoDataPath(options.stateDir) });
  return {
    description: `the ledger in ${options.stateDir} (no local platform is running there)`,
    ledger: new DynamoDbFileLedger(emulators.dynamodb, LOCAL_NAMES.tableName),
    inboundBucket: LOCAL_NAMES.buckets.inbound,
    close: () => emulators.stop(),
  };
}

async function openStage(stage: string): Promise<LedgerTarget> {
  const stackName = stackNameOf(stage);
  const cfn = new CloudFormationClient({});
  let outputs: Record<string, string>;
  try {
    const result = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = Object.fromEntries((result.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue!]));
  } catch (err) {
    throw new TargetError(`cannot read the outputs of stack ${stackName}: ${(err as Error).message}`, { cause: err });
  } finally {
    cfn.destroy();
  }
  const need = (name: string) => {
    const value = outputs[name];
    if (!value) throw new TargetError(`stack ${stackName} has no output ${name}; deploy the current version`);
    return value;
  };
  const dynamodb = new DynamoDBClient({});
  // The queue URLs in the outputs name AWS's host; the client's own endpoint (the region's, or
  // AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL when set) must win, as for every other client.
  const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
  const queues = JSON.parse(need(STACK_OUTPUTS.feedQueues)) as Record<string, string>;
  const platform = `stage ${stage} (stack ${stackName})`;
  return {
    description: `the ledger of ${platform}`,
    platform,
    ledger: new DynamoDbFileLedger(dynamodb, need(STACK_OUTPUTS.ledgerTable)),
    inboundBucket: need(STACK_OUTPUTS.inboundBucket),
    redeliver: async (object, feed) => {
      const url = queues[feed];
      if (!url) throw new TargetError(`stage ${stage} has no queue for ${feed}`);
      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify(objectCreatedEvent(object)) }));
    },
    close: async () => {
      dynamodb.destroy();
      sqs.destroy();
    },
  };
}

/**
 * Why nothing is running under `stateDir`, naming the platforms that run under another `--state`,
 * so the user can repeat the command with the right one.
 */
export function notRunningMessage(stateDir: string): string {
  const others = runningStateDirs().filter((dir) => dir !== stateDir);
  const where = `no local platform is running with --state ${stateDir}`;
  if (others.length === 0) return `${where}; start it (npm start, or partner-etl dev --state ${stateDir}) and run the command again`;
  return `${where}; ${others.length === 1 ? 'one is' : `${others.length} are`} running with ${others.map((d) => `--state ${d}`).join(', ')}: run the command again with that --state`;
}

/** Opens the target, or prints why it cannot be opened and resolves undefined (the command exits 2). */
export async function openTargetOrReport(options: { stage?: string; stateDir: string }): Promise<LedgerTarget | undefined> {
  try {
    return await openLedgerTarget(options);
  } catch (err) {
    if (!(err instanceof TargetError)) throw err;
    process.stderr.write(`partner-etl: ${err.message}\n`);
    return undefined;
  }
}
