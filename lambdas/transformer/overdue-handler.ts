/**
 * The overdue check's Lambda entry point: EventBridge Scheduler invokes it at each deadline of a
 * feed with `{ "partner", "feed" }`; wiring only.
 */
import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { Logger } from '@aws-lambda-powertools/logger';
import { EventBridgePublisher } from './adapters/eventbridge-publisher.js';
import { BUNDLE_FILE, parseBundle } from './bundle.js';
import { DynamoDbFileLedger } from './ledger/dynamodb-ledger.js';
import { findFeed } from './model.js';
import { checkOverdue, publishOverdue, scheduledFeeds, type OverdueFeed } from './overdue.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
};

const bundle = parseBundle(readFileSync(new URL(`./${BUNDLE_FILE}`, import.meta.url), 'utf8'));
const ledger = new DynamoDbFileLedger(new DynamoDBClient({}), env('LEDGER_TABLE'));
const events = new EventBridgePublisher(new EventBridgeClient({}), env('EVENT_BUS_NAME'));
const logger = new Logger({ serviceName: 'partner-etl' });

export async function handler(input: { partner?: unknown; feed?: unknown }): Promise<{ overdue: OverdueFeed | null }> {
  const feed = findFeed(bundle.config, `${String(input.partner)}/${String(input.feed)}`);
  const [scheduled] = feed ? scheduledFeeds([feed]) : [];
  if (!scheduled) throw new Error(`no scheduled feed ${String(input.partner)}/${String(input.feed)} in config ${bundle.configHash}`);
  const now = new Date();
  const overdue = await checkOverdue(ledger, scheduled, now);
  if (overdue) await publishOverdue(events, overdue, now);
  if (overdue) logger.warn('feed overdue', { ...overdue });
  else logger.info('a file arrived in the window', { partner: scheduled.partner, feed: scheduled.id });
  return { overdue: overdue ?? null };
}
