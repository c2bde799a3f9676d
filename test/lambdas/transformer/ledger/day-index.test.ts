import { CreateTableCommand, DescribeTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectCreated } from '../../../../lambdas/transformer/intake.js';
import { DynamoDbFileLedger } from '../../../../lambdas/transformer/ledger/dynamodb-ledger.js';
import { startEmulators, type Emulators } from '../../../../platform/local/emulators.js';
import { createLedgerTable } from '../../../../platform/local/provision.js';

let emulators: Emulators;
beforeAll(async () => {
  emulators = await startEmulators();
});
afterAll(() => emulators.stop());

function object(key: string, sequencer: string): ObjectCreated {
  return { bucket: 'inbound', key, etag: 'e', size: 1, sequencer, time: '' };
}

/** A ledger whose clock reads `at`, to record files on chosen days. */
const ledgerAt = (table: string, at: string) => new DynamoDbFileLedger(emulators.dynamodb, table, () => new Date(at));

async function receive(table: string, at: string, partner: string, key: string, sequencer: string) {
  await ledgerAt(table, at).claim(object(key, sequencer), { partner, feed: 'f', requestId: 'r', leaseMs: 1000 });
}

describe('the ledger index by day', () => {
  it('lists every partner newest first across UTC days, bounded by since, without naming a partner or status', async () => {
    await createLedgerTable(emulators.dynamodb, 'days');
    await receive('days', '2026-03-27T23:59:00Z', 'acme', 'acme/f/a.csv', '1');
    await receive('days', '2026-03-28T00:01:00Z', 'globex', 'globex/f/b.csv', '2');
    await receive('days', '2026-03-29T12:00:00Z', 'muller', 'muller/f/c.csv', '3');
    const ledger = ledgerAt('days', '2026-03-29T13:00:00Z');
    expect((await ledger.list({})).map((r) => r.key)).toEqual(['muller/f/c.csv', 'globex/f/b.csv', 'acme/f/a.csv']);
    expect((await ledger.list({ since: new Date('2026-03-28T00:00:00Z') })).map((r) => r.key)).toEqual([
      'muller/f/c.csv',
      'globex/f/b.csv',
    ]);
    expect((await ledger.list({ limit: 1 })).map((r) => r.key)).toEqual(['muller/f/c.csv']);
    // a new attempt keeps the day the file was received
    await ledgerAt('days', '2026-03-29T12:30:00Z').requestReprocess('inbound', 'acme/f/a.csv');
    await receive('days', '2026-03-29T12:31:00Z', 'acme', 'acme/f/a.csv', '1');
    expect((await ledger.list({})).map((r) => [r.key, r.attempts])).toEqual([
      ['muller/f/c.csv', 1],
      ['globex/f/b.csv', 1],
      ['acme/f/a.csv', 2],
    ]);
  });

  it('is added, with its keys, to a local ledger kept from before the index existed', async () => {
    const S = 'S' as const;
    const oldIndexes = [
      ['byPartner', 'gsi1pk', 'gsi1sk'],
      ['byStatus', 'gsi2pk', 'gsi2sk'],
    ];
    await emulators.dynamodb.send(
      new CreateTableCommand({
        TableName: 'old',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk'].map((AttributeName) => ({
          AttributeName,
          AttributeType: S,
        })),
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: oldIndexes.map(([IndexName, pk, sk]) => ({
          IndexName,
          KeySchema: [
            { AttributeName: pk, KeyType: 'HASH' as const },
            { AttributeName: sk, KeyType: 'RANGE' as const },
          ],
          Projection: { ProjectionType: 'ALL' as const },
        })),
      }),
    );
    await emulators.dynamodb.send(
      new PutItemCommand({
        TableName: 'old',
        Item: {
          pk: { S: 'inbound/acme/f/old.csv' },
          sk: { S: 'V#1#s1' },
          key: { S: 'acme/f/old.csv' },
          partner: { S: 'acme' },
          feed: { S: 'f' },
          status: { S: 'SUCCEEDED' },
          receivedAt: { S: '2026-03-29T08:00:00.000Z' },
          attempts: { N: '1' },
          gsi1pk: { S: 'PARTNER#acme' },
          gsi1sk: { S: '2026-03-29T08:00:00.000Z#acme/f/old.csv' },
        },
      }),
    );
    await createLedgerTable(emulators.dynamodb, 'old');
    const table = await emulators.dynamodb.send(new DescribeTableCommand({ TableName: 'old' }));
    expect(table.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort()).toEqual(['byDay', 'byPartner', 'byStatus']);
    const listed = await ledgerAt('old', '2026-03-29T09:00:00Z').list({});
    expect(listed.map((r) => [r.key, r.status])).toEqual([['acme/f/old.csv', 'SUCCEEDED']]);
  });
});
