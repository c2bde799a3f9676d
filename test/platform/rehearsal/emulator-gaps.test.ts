import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { correctMotoS3Event, rewriteEventBusRefs, skippedResourceTypes, type Template } from '../../../platform/rehearsal/emulator-gaps.js';
import { formatTable } from '../../../platform/rehearsal/report.js';
import { startS3SigningShim, type S3SigningShim } from '../../../platform/rehearsal/s3-signing-shim.js';

describe('emulator corrections', () => {
  it('rewrites Ref of an event bus to GetAtt Name, and nothing else', () => {
    const template: Template = {
      Resources: {
        Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'b' } },
        Table: { Type: 'AWS::DynamoDB::Table' },
        Fn: { Type: 'AWS::Lambda::Function', Properties: { Environment: { Variables: { BUS: { Ref: 'Bus' }, TABLE: { Ref: 'Table' } } } } },
      },
      Outputs: { BusName: { Value: { Ref: 'Bus' } } },
    };
    expect(rewriteEventBusRefs(template)).toBe(2);
    expect(template.Resources.Fn!.Properties).toEqual({
      Environment: { Variables: { BUS: { 'Fn::GetAtt': ['Bus', 'Name'] }, TABLE: { Ref: 'Table' } } },
    });
    expect(template.Outputs!.BusName!.Value).toEqual({ 'Fn::GetAtt': ['Bus', 'Name'] });
  });

  it("corrects moto's S3 event to AWS's field names, time format and write order", () => {
    const moto = {
      source: 'aws.s3',
      time: 1795860892.5,
      detail: { object: { key: 'a/b.csv', size: 8, eTag: 'e1', 'version-id': 'v1', sequencer: '617f08299329d189' } },
    };
    const { body, corrected } = correctMotoS3Event(JSON.stringify(moto), (key, version) =>
      key === 'a/b.csv' && version === 'v1' ? '0000000000000002' : undefined,
    );
    expect(corrected).toBe(true);
    expect(JSON.parse(body)).toEqual({
      source: 'aws.s3',
      time: '2026-11-28T10:14:52Z',
      detail: { object: { key: 'a/b.csv', size: 8, etag: 'e1', 'version-id': 'v1', sequencer: '0000000000000002' } },
    });
    const aws = JSON.stringify({
      source: 'aws.s3',
      time: '2026-11-28T06:54:52Z',
      detail: { object: { key: 'k', etag: 'e', sequencer: '01' } },
    });
    expect(correctMotoS3Event(aws, () => undefined)).toEqual({ body: aws, corrected: false });
  });

  it("reads the types moto skipped from moto's own warnings", () => {
    const log = "UserWarning: Tried to parse AWS::SQS::QueuePolicy but it's not supported by moto's CloudFormation implementation\n".repeat(
      2,
    );
    expect(skippedResourceTypes(`${log}Tried to parse AWS::CloudWatch::Alarm but it's not supported`)).toEqual([
      'AWS::CloudWatch::Alarm',
      'AWS::SQS::QueuePolicy',
    ]);
  });

  it('prints one row per check with control characters escaped, and the counts', () => {
    const table = formatTable([
      { group: 'deploy', name: 'stack', status: 'PASS', detail: '' },
      { group: 'routing', name: 'key\u001b[31m', status: 'FAIL', detail: 'reached no queue' },
      { group: 'iam', name: 'note', status: 'INFO', detail: 'x' },
    ]);
    expect(table).toContain('key\\u001b[31m');
    expect(table).not.toContain('\u001b');
    expect(table.split('\n').at(-1)).toBe('rehearsal: 1 checks passed, 1 failed, 1 notes');
  });
});

describe('the S3 signing shim', () => {
  const seen: { url: string; authorization: string }[] = [];
  const upstream = createServer((req: IncomingMessage, res) => {
    seen.push({ url: req.url ?? '', authorization: String(req.headers.authorization) });
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
  let shim: S3SigningShim;
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' };
  const client = (secretAccessKey: string) =>
    new S3Client({ region: 'eu-west-1', endpoint: shim.endpoint, forcePathStyle: true, credentials: { ...credentials, secretAccessKey } });

  beforeAll(async () => {
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    shim = await startS3SigningShim(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
    shim.trust(credentials);
  });
  afterAll(async () => {
    await shim.stop();
    await new Promise((resolve) => upstream.close(resolve));
  });

  it('forwards a correctly signed request with the path as moto reads it, signed again', async () => {
    const result = await client('secret').send(new GetObjectCommand({ Bucket: 'b', Key: 'out/partner=acme/x y.ndjson' }));
    expect(await result.Body!.transformToString()).toBe('ok');
    const last = seen.at(-1)!;
    expect(last.url.split('?')[0]).toBe('/b/out/partner%3Dacme/x%20y.ndjson'); // as the SDK sent it; only the signature changes
    expect(last.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/s3\/aws4_request, SignedHeaders=.*, Signature=[0-9a-f]{64}$/,
    );
  });

  it('refuses a request whose signature does not match, and forwards nothing', async () => {
    const before = seen.length;
    await expect(client('wrong').send(new GetObjectCommand({ Bucket: 'b', Key: 'k=1' }))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
    });
    expect(seen.length).toBe(before);
  });
});
