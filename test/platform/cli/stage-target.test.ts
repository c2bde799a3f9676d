import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbFileLedger } from '../../../lambdas/transformer/ledger/dynamodb-ledger.js';
import { startEmulators, type Emulators } from '../../../platform/local/emulators.js';
import { createLedgerTable } from '../../../platform/local/provision.js';

const REPO = join(import.meta.dirname, '../../..');
const BIN = join(REPO, 'platform/cli/partner-etl.mjs');

/**
 * `--stage` against a stand-in CloudFormation endpoint (no AWS account here): a tiny server answers
 * DescribeStacks in CloudFormation's query-protocol XML with the stack's outputs, and the table
 * they name lives in dynalite. The real SDK clients find both through the standard endpoint variables.
 */
let emulators: Emulators;
let cfn: Server;
let requests: string[] = [];

beforeAll(async () => {
  emulators = await startEmulators();
  await createLedgerTable(emulators.dynamodb, 'PartnerEtl-dev-ledger');
  const ledger = new DynamoDbFileLedger(emulators.dynamodb, 'PartnerEtl-dev-ledger');
  const object = { bucket: 'inbound-dev', key: 'acme/orders/x.csv', etag: 'e1', size: 10, sequencer: '0A', time: new Date().toISOString() };
  const claim = await ledger.claim(object, { partner: 'acme', feed: 'orders', requestId: 'r1', leaseMs: 60_000 });
  if (claim.kind !== 'claimed') throw new Error('setup claim failed');
  await ledger.complete(object, claim.attempt, {
    status: 'SUCCEEDED',
    configHash: 'h',
    rowsIn: 2,
    rowsOut: 2,
    rowsRejected: 0,
    errors: [],
    durationMs: 1,
    outputKey: 'orders/x',
  });
  cfn = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      requests.push(body);
      const outputs = { InboundBucketName: 'inbound-dev', LedgerTableName: 'PartnerEtl-dev-ledger', FeedQueueUrls: '{}' };
      res.setHeader('content-type', 'text/xml');
      res.end(
        `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>` +
          `<StackName>PartnerEtl-dev</StackName><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-11-27T00:00:00Z</CreationTime><Outputs>` +
          Object.entries(outputs)
            .map(([k, v]) => `<member><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`)
            .join('') +
          `</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeStacksResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => cfn.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await emulators.stop();
  await new Promise((resolve) => cfn.close(resolve));
});

describe('status --stage', () => {
  it('finds the table and bucket in the stack outputs and lists the stage ledger', async () => {
    requests = [];
    const env = {
      ...process.env,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'y',
      AWS_ENDPOINT_URL_CLOUDFORMATION: `http://127.0.0.1:${(cfn.address() as AddressInfo).port}`,
      AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb,
    };
    const child = spawn(process.execPath, [BIN, 'status', '--stage', 'dev', '--partner', 'acme', '--json'], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(requests[0]).toContain('Action=DescribeStacks');
    expect(requests[0]).toContain('StackName=PartnerEtl-dev');
    expect(JSON.parse(stdout)).toEqual([
      expect.objectContaining({ key: 'acme/orders/x.csv', status: 'SUCCEEDED', rowsOut: 2, outputKey: 'orders/x' }),
    ]);
  });
});
