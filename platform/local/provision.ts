import { CreateTableCommand, ResourceInUseException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BucketAlreadyOwnedByYou, CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { LEDGER_TABLE } from '../../lambdas/transformer/ledger/table-design.js';

/** Creates the ledger table with the keys and indexes of the CDK stack (no TTL call: the emulator lacks it). */
export async function createLedgerTable(dynamodb: DynamoDBClient, tableName: string): Promise<void> {
  const S = 'S' as const;
  const indexes = [LEDGER_TABLE.byPartner, LEDGER_TABLE.byStatus];
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: LEDGER_TABLE.partitionKey, AttributeType: S },
          { AttributeName: LEDGER_TABLE.sortKey, AttributeType: S },
          ...indexes.flatMap((i) => [
            { AttributeName: i.partitionKey, AttributeType: S },
            { AttributeName: i.sortKey, AttributeType: S },
          ]),
        ],
        KeySchema: [
          { AttributeName: LEDGER_TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: LEDGER_TABLE.sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: indexes.map((i) => ({
          IndexName: i.indexName,
          KeySchema: [
            { AttributeName: i.partitionKey, KeyType: 'HASH' },
            { AttributeName: i.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        })),
      }),
    );
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
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
