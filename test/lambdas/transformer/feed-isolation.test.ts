import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedCredentials, REFRESH_MARGIN_MS } from '../../../lambdas/transformer/adapters/feed-credentials.js';
import type { ObjectStore } from '../../../lambdas/transformer/adapters/object-store.js';
import {
  bucketArn,
  feedSessionPolicy,
  MAX_SESSION_POLICY_CHARS,
  type FeedLocations,
  type PolicyStatementJson,
} from '../../../lambdas/transformer/feed-access-policy.js';
import { listFeeds, type FeedConfig } from '../../../lambdas/transformer/model.js';
import { outputKeys, splitKeys } from '../../../lambdas/transformer/output-keys.js';
import { loadPlatformConfig } from '../../../platform/config/load-config.js';
import { makeFeed } from '../../support/engine.js';
import { startHarness } from '../../support/handler-harness.js';

const REPO = join(import.meta.dirname, '../../..');
const CONFIG = loadPlatformConfig(REPO).config;
const AT: FeedLocations = {
  inboundBucketArn: bucketArn('aws', 'inbound'),
  outputBucketArn: bucketArn('aws', 'output'),
  rejectsBucketArn: bucketArn('aws', 'rejects'),
  keyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
};

/** IAM's wildcard match of a resource or condition pattern (`*` any run, `?` one character). */
const globMatches = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  ).test(value);

/** Whether a policy allows an action on a resource (with the s3:prefix of a list, if any). */
function allows(policy: string, action: string, resource: string, s3Prefix?: string): boolean {
  const statements = (JSON.parse(policy) as { Statement: PolicyStatementJson[] }).Statement;
  return statements.some((s) => {
    if (!s.Action.some((a) => globMatches(a, action))) return false;
    if (![s.Resource].flat().some((r) => globMatches(r, resource))) return false;
    const prefixes = s.Condition?.StringLike?.['s3:prefix'];
    return prefixes === undefined || (s3Prefix !== undefined && [prefixes].flat().some((p) => globMatches(p, s3Prefix)));
  });
}

/** Every request handling a file of `feed` makes, and a neighbour's equivalents. */
function requestsOf(feed: FeedConfig) {
  const keys = outputKeys(feed, `${feed.source.prefix}2026-11-28${feed.source.suffix}`, 'v1', new Date('2026-11-28T00:00:00Z'));
  return [
    ['s3:GetObject', `${AT.inboundBucketArn}/${feed.source.prefix}2026-11-28${feed.source.suffix}`],
    ['s3:GetObjectVersion', `${AT.inboundBucketArn}/${feed.source.prefix}2026-11-28${feed.source.suffix}`],
    ['s3:PutObject', `${AT.outputBucketArn}/${keys.output}`],
    ['s3:PutObject', `${AT.outputBucketArn}/${keys.manifest}`],
    ['s3:PutObject', `${AT.rejectsBucketArn}/${keys.rejects}`],
    ['s3:PutObject', `${AT.rejectsBucketArn}/${keys.summary}`],
    ['s3:AbortMultipartUpload', `${AT.outputBucketArn}/${keys.output}`],
    ['s3:DeleteObject', `${AT.outputBucketArn}/${keys.output}`],
    ['s3:DeleteObject', `${AT.rejectsBucketArn}/${keys.summary}`],
  ] as const;
}

describe('the session policy of a feed', () => {
  // the sample feeds, and two whose names are prefixes of each other's
  const feeds = [
    ...listFeeds(CONFIG),
    makeFeed({
      partner: 'acme',
      id: 'orders-eu',
      source: { prefix: 'acme/orders-eu/', suffix: '.csv' },
      output: { dataset: 'orders', format: 'ndjson' },
    }),
  ];

  it("grants everything handling the feed's file needs", () => {
    for (const feed of feeds) {
      const policy = feedSessionPolicy(feed, AT);
      for (const [action, resource] of requestsOf(feed)) expect(allows(policy, action, resource), `${action} ${resource}`).toBe(true);
      expect(allows(policy, 'kms:Decrypt', AT.keyArn)).toBe(true);
    }
  });

  it('grants nothing under any other feed: not its inbound files, outputs or rejects', () => {
    for (const a of feeds) {
      const policy = feedSessionPolicy(a, AT);
      for (const b of feeds.filter((f) => f !== a)) {
        for (const [action, resource] of requestsOf(b)) {
          expect(allows(policy, action, resource), `${a.partner}/${a.id} -> ${action} ${resource}`).toBe(false);
        }
      }
    }
  });

  it('lets only a split feed list its own output parts', () => {
    const split = makeFeed({
      partner: 'acme',
      id: 'events',
      source: { prefix: 'acme/events/', suffix: '.csv' },
      split: { aboveMiB: 1, chunkMiB: 1 },
    });
    const keys = outputKeys(split, 'acme/events/a.csv', 'v1', new Date());
    const policy = feedSessionPolicy(split, AT);
    expect(allows(policy, 's3:ListBucket', AT.outputBucketArn, splitKeys(keys).partsPrefix)).toBe(true);
    expect(allows(policy, 's3:ListBucket', AT.outputBucketArn, 'orders/partner=acme/feed=orders/')).toBe(false);
    expect(allows(feedSessionPolicy(feeds[0]!, AT), 's3:ListBucket', AT.outputBucketArn, 'orders/')).toBe(false);
  });

  it('stays within the 2048 characters STS accepts inline, at the longest ids, prefix, dataset and bucket names the config allows', () => {
    const id = 'a'.repeat(31); // partner and feed ids: at most 31 characters
    const longest = makeFeed({
      partner: id,
      id,
      source: { prefix: `${id}/${'p'.repeat(512 - 33)}/`, suffix: '.csv' }, // a prefix: at most 512
      output: { dataset: 'd'.repeat(63), format: 'ndjson' },
      split: { aboveMiB: 1, chunkMiB: 1 },
    });
    expect(longest.source.prefix).toHaveLength(512);
    const arn = (name: string) => bucketArn('aws-us-gov', name.repeat(63)); // bucket names: at most 63
    const at = {
      inboundBucketArn: arn('i'),
      outputBucketArn: arn('o'),
      rejectsBucketArn: arn('r'),
      keyArn: AT.keyArn.replace(':aws:', ':aws-us-gov:'),
    };
    expect(feedSessionPolicy(longest, at).length).toBeLessThanOrEqual(MAX_SESSION_POLICY_CHARS);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('per-feed credentials, on moto_server STS', () => {
  let moto: ChildProcess;
  let endpoint: string;
  beforeAll(async () => {
    const port = await freePort();
    endpoint = `http://127.0.0.1:${port}`;
    moto = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    for (let i = 0; i < 150; i++) {
      if (
        await fetch(`${endpoint}/moto-api/`).then(
          (r) => r.ok,
          () => false,
        )
      )
        return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('moto_server did not start');
  }, 30_000);
  afterAll(() => {
    moto?.kill();
  });

  it('assumes the feed-access role once per feed with that feed session policy, again only near expiry', async () => {
    const sts = new STSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    const calls: { RoleSessionName?: string; Policy?: string; RoleArn?: string }[] = [];
    sts.middlewareStack.add(
      (next) => async (args) => {
        calls.push(args.input as (typeof calls)[number]);
        return next(args);
      },
      { step: 'initialize' },
    );
    let now = Date.now();
    const roleArn = 'arn:aws:iam::123456789012:role/feed-access';
    const credentials = new FeedCredentials(
      sts,
      roleArn,
      (feed) => feedSessionPolicy(feed, AT),
      () => now,
    );
    const [orders, shipments] = [listFeeds(CONFIG).find((f) => f.id === 'orders')!, listFeeds(CONFIG).find((f) => f.id === 'shipments')!];

    const [a, b] = await Promise.all([credentials.for(orders), credentials.for(orders)]);
    expect(a).toBe(b);
    const again = await credentials.for(orders);
    expect(again.accessKeyId).toBe(a.accessKeyId);
    const other = await credentials.for(shipments);
    expect(other.accessKeyId).not.toBe(a.accessKeyId);
    expect(calls.map((c) => [c.RoleArn, c.RoleSessionName, c.Policy])).toEqual([
      [roleArn, 'acme.orders', feedSessionPolicy(orders, AT)],
      [roleArn, 'globex.shipments', feedSessionPolicy(shipments, AT)],
    ]);

    now = a.expiration.getTime() - REFRESH_MARGIN_MS + 1; // less than a whole file's time left
    const renewed = await credentials.for(orders);
    expect(renewed.accessKeyId).not.toBe(a.accessKeyId);
    expect(calls).toHaveLength(3);
  });
});

describe('the handler', () => {
  it('hands each file the store of its own feed, and every request of the file goes through it', async () => {
    const used: string[] = [];
    const harness = await startHarness(CONFIG, {
      storeFor: (store) => (feed) => {
        const name = `${feed.partner}/${feed.id}`;
        const record =
          <A extends unknown[], R>(method: string, f: (...args: A) => R) =>
          (...args: A): R => {
            used.push(`${name} ${method} ${String(args[0])}`);
            return f(...args);
          };
        return {
          open: record('open', store.open.bind(store)),
          upload: record('upload', store.upload.bind(store)),
          put: record('put', store.put.bind(store)),
          delete: record('delete', store.delete.bind(store)),
          list: record('list', store.list.bind(store)),
        } satisfies ObjectStore;
      },
    });
    try {
      const orders = await harness.upload(
        'acme/orders/a.csv',
        'order_id,order_date,customer_email,customer_name,amount,currency,shipping\nA-1,2026-11-27,a@example.com,A,1,EUR,standard\n',
      );
      const shipments = await harness.upload('globex/shipments/b.txt', 'x|y\n');
      const result = await harness.invoke(harness.sqsEvent(harness.bodyOf(orders), harness.bodyOf(shipments)));
      expect(result.batchItemFailures).toEqual([]);
      // every request of each file, through its own feed's store: read, output, rejects and the partner's
      // rejects CSV, manifest (not for globex's file, which FAILED: its columns are wrong), summary, and
      // for the failed file the partner's summary as text and HTML
      const requests = ['open inbound', 'upload output', 'upload rejects', 'upload rejects', 'put rejects'];
      expect(used.sort()).toEqual(
        [
          ...requests.map((r) => `acme/orders ${r}`),
          'acme/orders put output',
          ...requests.map((r) => `globex/shipments ${r}`),
          'globex/shipments put rejects',
          'globex/shipments put rejects',
        ].sort(),
      );
      expect(await harness.listKeys(harness.buckets.output, 'orders/partner=acme/feed=orders/')).toHaveLength(2);
    } finally {
      await harness.stop();
    }
  }, 60_000);
});
