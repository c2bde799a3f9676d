import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  DeleteTableCommand,
  PutItemCommand,
  ScanCommand,
  type AttributeValue,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { BucketAlreadyOwnedByYou, CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { dayPartition } from '../../lambdas/transformer/ledger/dynamodb-ledger.js';
import { LEDGER_INDEXES, LEDGER_TABLE } from '../../lambdas/transformer/ledger/table-design.js';

const S = 'S' as const;

/**
 * Creates the ledger table with the keys and indexes of the CDK stack (no TTL call: the emulator
 * lacks it). A table kept in a state folder from an earlier version gains the indexes it lacks.
 */
export async function createLedgerTable(dynamodb: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await dynamodb.send(new CreateTableCommand(ledgerTableDefinition(tableName)));
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
    await addMissingIndexes(dynamodb, tableName);
  }
}

function ledgerTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: LEDGER_TABLE.partitionKey, AttributeType: S },
      { AttributeName: LEDGER_TABLE.sortKey, AttributeType: S },
      ...LEDGER_INDEXES.flatMap((i) => [
        { AttributeName: i.partitionKey, AttributeType: S },
        { AttributeName: i.sortKey, AttributeType: S },
      ]),
    ],
    KeySchema: [
      { AttributeName: LEDGER_TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: LEDGER_TABLE.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: LEDGER_INDEXES.map((i) => ({
      IndexName: i.indexName,
      KeySchema: [
        { AttributeName: i.partitionKey, KeyType: 'HASH' },
        { AttributeName: i.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
  };
}

/**
 * A ledger kept in a state folder from before an index existed is rebuilt with it: dynalite cannot
 * add an index to a table, so the items are read, the table created again and the items written
 * back with the new index keys (a laptop's ledger: a one-time Scan is fine here, never in AWS).
 */
async function addMissingIndexes(dynamodb: DynamoDBClient, tableName: string): Promise<void> {
  const table = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
  const present = new Set((table.Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
  if (LEDGER_INDEXES.every((i) => present.has(i.indexName))) return;
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  await dynamodb.send(new DeleteTableCommand({ TableName: tableName }));
  await dynamodb.send(new CreateTableCommand(ledgerTableDefinition(tableName)));
  const day = LEDGER_TABLE.byDay;
  for (const item of items) {
    const receivedAt = item.receivedAt?.S;
    const key = item.key?.S;
    const dayKeys: Record<string, AttributeValue> =
      receivedAt && key && !item[day.partitionKey]
        ? { [day.partitionKey]: { S: dayPartition(new Date(receivedAt)) }, [day.sortKey]: { S: `${receivedAt}#${key}` } }
        : {};
    await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: { ...item, ...dayKeys } }));
  }
}

export async function createBuckets(s3: S3Client, names: readonly string[]): Promise<void> {
  for (const Bucket of names) {
    try {
      await s3.send(new CreateBucketCommand({ Bucket }));
    } catch (err) {
      if (!(err instanceof BucketAlreadyOwnedByYou) && (err as Error).name !== 'BucketAlreadyExists') throw err;
    }
  }
}
