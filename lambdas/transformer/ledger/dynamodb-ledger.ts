import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { listedErrors } from '../engine/outcome.js';
import type { ObjectCreated } from '../intake.js';
import {
  FINAL_STATUSES,
  versionRef,
  type ClaimResult,
  type FileLedger,
  type FileRecord,
  type FinalUpdate,
  type ListFilter,
  type PublishedVersion,
} from './file-ledger.js';
import { LEDGER_TABLE } from './table-design.js';

/** How long ledger items are kept (DynamoDB TTL, a table setting). */
const RETENTION_DAYS = 400;
/** How far back a status query looks when no `since` is given. */
const DEFAULT_STATUS_DAYS = 7;
/** How far back a list of every partner's files looks when no `since` is given. */
export const DEFAULT_LIST_DAYS = 31;

const LATEST = 'LATEST';

/** The file ledger on DynamoDB (or dynalite): single-item conditional writes, Queries only. */
export class DynamoDbFileLedger implements FileLedger {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async claim(object: ObjectCreated, owner: { partner: string; feed: string; requestId: string; leaseMs: number }): Promise<ClaimResult> {
    const now = this.now();
    const iso = now.toISOString();
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: versionKey(object),
          UpdateExpression:
            [
              'SET #bucket = :bucket, #key = :key, versionId = :versionId, etag = :etag, #size = :size, sequencer = :sequencer',
              'partner = :partner, feed = :feed, #status = :processing, leaseUntil = :lease, leaseOwner = :owner',
              'attempts = if_not_exists(attempts, :zero) + :one, startedAt = :now, receivedAt = if_not_exists(receivedAt, :now)',
              'updatedAt = :now, gsi1pk = :g1pk, gsi1sk = if_not_exists(gsi1sk, :g1sk), gsi2pk = :g2pk, gsi2sk = :g2sk, expiresAt = :expires',
              'gsi3pk = if_not_exists(gsi3pk, :g3pk), gsi3sk = if_not_exists(gsi3sk, :g1sk)',
              '#history = list_append(if_not_exists(#history, :empty), :entry)',
            ].join(', ') + ' REMOVE reprocessRequested, eventSent, provisional, splitRun, warnings',
          ConditionExpression:
            'attribute_not_exists(pk) OR #status = :received OR (#status = :processing AND leaseUntil < :nowMs) OR reprocessRequested = :true',
          ExpressionAttributeNames: { '#bucket': 'bucket', '#key': 'key', '#size': 'size', '#status': 'status', '#history': 'history' },
          ExpressionAttributeValues: {
            ':bucket': object.bucket,
            ':key': object.key,
            ':versionId': object.versionId ?? null,
            ':etag': object.etag,
            ':size': object.size,
            ':sequencer': object.sequencer,
            ':partner': owner.partner,
            ':feed': owner.feed,
            ':processing': 'PROCESSING',
            ':received': 'RECEIVED',
            ':lease': now.getTime() + owner.leaseMs,
            ':owner': owner.requestId,
            ':zero': 0,
            ':one': 1,
            ':now': iso,
            ':nowMs': now.getTime(),
            ':true': true,
            ':g1pk': `PARTNER#${owner.partner}`,
            ':g1sk': `${iso}#${object.key}`,
            ':g2pk': statusPartition('PROCESSING', now),
            ':g2sk': `${iso}#${object.key}`,
            ':g3pk': dayPartition(now),
            ':expires': Math.floor(now.getTime() / 1000) + RETENTION_DAYS * 86400,
            ':empty': [],
            ':entry': [{ requestId: owner.requestId, startedAt: iso, outcome: 'PROCESSING' }],
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const record = toRecord(result.Attributes!);
      return { kind: 'claimed', attempt: record.attempts, record };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    const current = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: versionKey(object), ConsistentRead: true }));
    const item = current.Item;
    // A final status keeps its attempt's lease until the event is sent (or the attempt gives it back):
    // until then the attempt is still publishing, or (a provisional FAILED) may still finish. A split
    // run's lease lasts hours and the run heals its own event, so its final status is final at once.
    const publishing = Number(item?.leaseUntil) >= now.getTime() && !item?.splitRun;
    if (item && FINAL_STATUSES.includes(item.status) && !publishing) {
      return { kind: 'finished', record: toRecord(item) };
    }
    const leaseUntil = Number(item?.leaseUntil ?? 0);
    if (item?.splitRun && item.status === 'PROCESSING') {
      return { kind: 'busy', leaseUntil, splitRun: { name: String(item.splitRun), attempt: Number(item.attempts) } };
    }
    return { kind: 'busy', leaseUntil };
  }

  async handOver(object: ObjectCreated, attempt: number, run: string, leaseMs: number): Promise<boolean> {
    const now = this.now();
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: versionKey(object),
          // A last delivery's provisional FAILED is taken back: the split run records the final status.
          UpdateExpression:
            'SET #status = :processing, splitRun = :run, leaseUntil = :lease, updatedAt = :now, gsi2pk = :g2pk, gsi2sk = :g2sk REMOVE provisional, errors, warnings, finishedAt',
          ConditionExpression: '(#status = :processing OR provisional = :true) AND attempts = :attempt',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':processing': 'PROCESSING',
            ':true': true,
            ':attempt': attempt,
            ':run': run,
            ':lease': now.getTime() + leaseMs,
            ':now': now.toISOString(),
            ':g2pk': statusPartition('PROCESSING', now),
            ':g2sk': `${now.toISOString()}#${object.key}`,
          },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async failAhead(object: ObjectCreated, attempt: number, message: string): Promise<void> {
    const now = this.now();
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: versionKey(object),
        UpdateExpression:
          'SET #status = :failed, provisional = :true, errors = :errors, rowsIn = :zero, rowsOut = :zero, rowsRejected = :zero, finishedAt = :now, updatedAt = :now, gsi2pk = :g2pk, gsi2sk = :g2sk',
        ConditionExpression: '#status = :processing AND attempts = :attempt',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':failed': 'FAILED',
          ':true': true,
          ':processing': 'PROCESSING',
          ':attempt': attempt,
          ':errors': [{ code: 'RETRIES_EXHAUSTED', message }],
          ':zero': 0,
          ':now': now.toISOString(),
          ':g2pk': statusPartition('FAILED', now),
          ':g2sk': `${now.toISOString()}#${object.key}`,
        },
      }),
    );
  }

  async release(object: ObjectCreated, attempt: number, reason: string): Promise<void> {
    const now = this.now();
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: versionKey(object),
          UpdateExpression: `SET #status = :received, updatedAt = :now, gsi2pk = :g2pk, gsi2sk = :g2sk, #history[${attempt - 1}].outcome = :reason, #history[${attempt - 1}].finishedAt = :now REMOVE leaseUntil, leaseOwner`,
          ConditionExpression: '#status = :processing AND attempts = :attempt',
          ExpressionAttributeNames: { '#status': 'status', '#history': 'history' },
          ExpressionAttributeValues: {
            ':received': 'RECEIVED',
            ':processing': 'PROCESSING',
            ':attempt': attempt,
            ':now': now.toISOString(),
            ':reason': `released: ${reason}`.slice(0, 1000),
            ':g2pk': statusPartition('RECEIVED', now),
            ':g2sk': `${now.toISOString()}#${object.key}`,
          },
        }),
      );
      return;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    // The attempt had recorded its final status: it gives back the right to publish it, so the
    // redelivery sends the event at once instead of waiting for the lease.
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: versionKey(object),
          UpdateExpression: 'REMOVE leaseUntil, leaseOwner',
          ConditionExpression: 'attempts = :attempt AND attribute_exists(leaseUntil) AND #status <> :processing',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':attempt': attempt, ':processing': 'PROCESSING' },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  async complete(object: ObjectCreated, attempt: number, update: FinalUpdate): Promise<boolean> {
    const now = this.now();
    const iso = now.toISOString();
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: versionKey(object),
          UpdateExpression:
            [
              'SET #status = :status, finishedAt = :now, updatedAt = :now, configHash = :configHash',
              'rowsIn = :rowsIn, rowsOut = :rowsOut, rowsRejected = :rowsRejected, errors = :errors, warnings = :warnings, durationMs = :durationMs',
              'outputKey = :outputKey, manifestKey = :manifestKey, rejectsKey = :rejectsKey, summaryKey = :summaryKey, duplicateOf = :duplicateOf',
              `gsi2pk = :g2pk, gsi2sk = :g2sk, #history[${attempt - 1}].outcome = :status, #history[${attempt - 1}].finishedAt = :now`,
            ].join(', ') + ' REMOVE provisional',
          ConditionExpression: '(#status = :processing OR provisional = :true) AND attempts = :attempt',
          ExpressionAttributeNames: { '#status': 'status', '#history': 'history' },
          ExpressionAttributeValues: {
            ':status': update.status,
            ':processing': 'PROCESSING',
            ':true': true,
            ':attempt': attempt,
            ':now': iso,
            ':configHash': update.configHash,
            ':rowsIn': update.rowsIn,
            ':rowsOut': update.rowsOut,
            ':rowsRejected': update.rowsRejected,
            ':errors': listedErrors(update.errors),
            ':warnings': update.warnings ?? null,
            ':durationMs': update.durationMs,
            ':outputKey': update.outputKey ?? null,
            ':manifestKey': update.manifestKey ?? null,
            ':rejectsKey': update.rejectsKey ?? null,
            ':summaryKey': update.summaryKey ?? null,
            ':duplicateOf': update.duplicateOf ?? null,
            ':g2pk': statusPartition(update.status, now),
            ':g2sk': `${iso}#${object.key}`,
          },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async markEventSent(object: ObjectCreated): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: versionKey(object),
        UpdateExpression: 'SET eventSent = :true REMOVE leaseUntil, leaseOwner',
        ExpressionAttributeValues: { ':true': true },
      }),
    );
  }

  async latestPublished(bucket: string, key: string): Promise<PublishedVersion | undefined> {
    const result = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `${bucket}/${key}`, sk: LATEST }, ConsistentRead: true }),
    );
    if (!result.Item) return undefined;
    const { versionRef: ref, sequencer, etag, configHash, outputKey } = result.Item;
    return { versionRef: ref, sequencer, etag, configHash, outputKey };
  }

  async publishLatest(object: ObjectCreated, version: PublishedVersion): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `${object.bucket}/${object.key}`, sk: LATEST },
          UpdateExpression: 'SET versionRef = :ref, sequencer = :seq, etag = :etag, configHash = :hash, outputKey = :out, updatedAt = :now',
          // Only a newer (or the same) version may take the pointer: a late older version never replaces a newer output.
          ConditionExpression: 'attribute_not_exists(pk) OR sequencer <= :seq',
          ExpressionAttributeValues: {
            ':ref': version.versionRef,
            ':seq': padSequencer(version.sequencer),
            ':etag': version.etag,
            ':hash': version.configHash,
            ':out': version.outputKey,
            ':now': this.now().toISOString(),
          },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async history(bucket: string, key: string): Promise<FileRecord[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
      ExpressionAttributeValues: { ':pk': `${bucket}/${key}`, ':v': 'V#' },
      ConsistentRead: true,
    });
    return items.map(toRecord);
  }

  async list(filter: ListFilter): Promise<FileRecord[]> {
    const limit = filter.limit ?? 100;
    const since = filter.since?.toISOString() ?? '0';
    let records: FileRecord[];
    if (filter.partner) {
      const items = await this.queryAll(
        {
          TableName: this.tableName,
          IndexName: LEDGER_TABLE.byPartner.indexName,
          KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk >= :since',
          ExpressionAttributeValues: { ':pk': `PARTNER#${filter.partner}`, ':since': since },
          ScanIndexForward: false,
        },
        (item) => matches(item, filter),
        limit,
      );
      records = items.map(toRecord);
    } else {
      // One partition per UTC day (of the status, or of every file), newest day first, until the limit is reached.
      const from = filter.since ?? new Date(this.now().getTime() - (filter.status ? DEFAULT_STATUS_DAYS : DEFAULT_LIST_DAYS) * 86400_000);
      const index = filter.status ? LEDGER_TABLE.byStatus : LEDGER_TABLE.byDay;
      records = [];
      for (let day = startOfDay(this.now()); day >= startOfDay(from) && records.length < limit; day = new Date(day.getTime() - 86400_000)) {
        const items = await this.queryAll(
          {
            TableName: this.tableName,
            IndexName: index.indexName,
            KeyConditionExpression: `${index.partitionKey} = :pk`,
            ExpressionAttributeValues: { ':pk': filter.status ? statusPartition(filter.status, day) : dayPartition(day) },
            ScanIndexForward: false,
          },
          (item) => matches(item, filter) && (!filter.since || String(item.receivedAt) >= since),
          limit - records.length,
        );
        records.push(...items.map(toRecord));
      }
    }
    return records.sort((a, b) => b.receivedAt.localeCompare(a.receivedAt)).slice(0, limit);
  }

  async requestReprocess(bucket: string, key: string): Promise<FileRecord | undefined> {
    const latest = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
        ExpressionAttributeValues: { ':pk': `${bucket}/${key}`, ':v': 'V#' },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = latest.Items?.[0];
    if (!item) return undefined;
    const result = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: item.pk, sk: item.sk },
        UpdateExpression: 'SET reprocessRequested = :true, updatedAt = :now',
        ExpressionAttributeValues: { ':true': true, ':now': this.now().toISOString() },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toRecord(result.Attributes!);
  }

  private async queryAll(
    input: QueryCommandInput,
    keep: (item: Record<string, unknown>) => boolean = () => true,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) if (keep(item) && out.length < limit) out.push(item);
      start = page.LastEvaluatedKey;
    } while (start && out.length < limit);
    return out;
  }
}

function versionKey(object: ObjectCreated): { pk: string; sk: string } {
  return { pk: `${object.bucket}/${object.key}`, sk: `V#${padSequencer(object.sequencer)}#${versionRef(object)}` };
}

/** Sequencers of one key compare as hex numbers of varying length; left-padding makes them compare as strings. */
export function padSequencer(sequencer: string): string {
  return sequencer.toUpperCase().padStart(32, '0');
}

/** The `byDay` partition of a file received at `at`: its UTC day. */
export function dayPartition(at: Date): string {
  return `DAY#${at.toISOString().slice(0, 10)}`;
}

function statusPartition(status: string, at: Date): string {
  return `STATUS#${status}#${at.toISOString().slice(0, 10)}`;
}

function startOfDay(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}

function matches(item: Record<string, unknown>, filter: ListFilter): boolean {
  return (!filter.feed || item.feed === filter.feed) && (!filter.status || item.status === filter.status);
}

function toRecord(item: Record<string, unknown>): FileRecord {
  const record: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) {
    if (v === null || k === 'pk' || k === 'sk' || k.startsWith('gsi') || k === 'expiresAt' || k === 'leaseOwner') continue;
    record[k] = v;
  }
  record.history = ((item.history as Record<string, unknown>[] | undefined) ?? []).map((h, i) => ({ attempt: i + 1, ...h }));
  return record as unknown as FileRecord;
}
