/**
 * The file ledger's DynamoDB key design, shared by the CDK table and the adapter.
 *
 * - one file's history: Query `pk = <bucket>/<key>` (items sorted by `sk`: the object's versions in
 *   S3 write order, plus one `LATEST` item pointing at the latest published version);
 * - one partner's files by time: Query index `byPartner`, `gsi1pk = PARTNER#<partner>`, `gsi1sk` = received time;
 * - files in a status by time: Query index `byStatus`, `gsi2pk = STATUS#<status>#<yyyy-mm-dd>`
 *   (one partition per status and day, so no partition grows hot), `gsi2sk` = received time.
 * - every file by time, whatever its partner: Query index `byDay`, `gsi3pk = DAY#<yyyy-mm-dd>` (the UTC day
 *   the file was received), `gsi3sk` = received time; `status` lists from it without knowing the partners.
 * No access pattern needs a Scan.
 */
export const LEDGER_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  byPartner: { indexName: 'byPartner', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  byStatus: { indexName: 'byStatus', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
  byDay: { indexName: 'byDay', partitionKey: 'gsi3pk', sortKey: 'gsi3sk' },
  /** Epoch seconds after which DynamoDB may delete the item (a table setting; never called at run time). */
  ttlAttribute: 'expiresAt',
} as const;

/** Every index of the table, in the order the CDK table and the local table create them. */
export const LEDGER_INDEXES = [LEDGER_TABLE.byPartner, LEDGER_TABLE.byStatus, LEDGER_TABLE.byDay] as const;
