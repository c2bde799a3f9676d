import { describe, expect, it } from 'vitest';
import { decodeS3Key, parseObjectEvents, PoisonMessageError } from '../../../lambdas/transformer/intake.js';

// The example of AWS's documentation, "Amazon S3 Event Notifications > Using EventBridge > Object Created".
const EVENTBRIDGE_EXAMPLE = {
  version: '0',
  id: '17793124-05d4-b198-2fde-7ededc63b103',
  'detail-type': 'Object Created',
  source: 'aws.s3',
  account: '111122223333',
  time: '2021-11-12T00:00:00Z',
  region: 'ca-central-1',
  resources: ['arn:aws:s3:::amzn-s3-demo-bucket1'],
  detail: {
    version: '0',
    bucket: { name: 'amzn-s3-demo-bucket1' },
    object: {
      key: 'example-key',
      size: 5,
      etag: 'b1946ac92492d2347c6235b4d2611184',
      'version-id': 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
      sequencer: '617f08299329d189',
    },
    'request-id': 'N4N7GDK58NMKJ12R',
    requester: '123456789012',
    'source-ip-address': '1.2.3.4',
    reason: 'PutObject',
  },
};

// The example of AWS's documentation, "Event message structure" (classic S3 notifications).
const S3_NOTIFICATION_EXAMPLE = {
  Records: [
    {
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-west-2',
      eventTime: '1970-01-01T00:00:00.000Z',
      eventName: 'ObjectCreated:Put',
      userIdentity: { principalId: 'AIDAJDPLRKLG7UEXAMPLE' },
      requestParameters: { sourceIPAddress: '172.16.0.1' },
      responseElements: {
        'x-amz-request-id': 'C3D13FE58DE4C810',
        'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD',
      },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'testConfigRule',
        bucket: {
          name: 'amzn-s3-demo-bucket',
          ownerIdentity: { principalId: 'A3NL1KOZZKExample' },
          arn: 'arn:aws:s3:::amzn-s3-demo-bucket',
        },
        object: {
          key: 'HappyFace.jpg',
          size: 1024,
          eTag: 'd41d8cd98f00b204e9800998ecf8427e',
          versionId: '096fKKXTRTtl3on89fVO.nfljtsv6qko',
          sequencer: '0055AED6DCD90281E5',
        },
      },
    },
  ],
};

describe('EventBridge "Object Created" events', () => {
  it("reads AWS's documented example", () => {
    expect(parseObjectEvents(JSON.stringify(EVENTBRIDGE_EXAMPLE))).toEqual([
      {
        bucket: 'amzn-s3-demo-bucket1',
        key: 'example-key',
        versionId: 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
        etag: 'b1946ac92492d2347c6235b4d2611184',
        size: 5,
        sequencer: '617f08299329d189',
        time: '2021-11-12T00:00:00Z',
      },
    ]);
  });

  it.each(['acme/orders/red flower.csv', 'acme/orders/a+b.csv', 'acme/orders/100%.csv', 'acme/orders/ü-数据.csv', 'acme/orders/../x.csv'])(
    'takes the key %s as it is, never decoding it',
    (key) => {
      const event = structuredClone(EVENTBRIDGE_EXAMPLE);
      event.detail.object.key = key;
      expect(parseObjectEvents(JSON.stringify(event))[0]!.key).toBe(key);
    },
  );

  it('has no version id for an unversioned bucket', () => {
    const event = structuredClone(EVENTBRIDGE_EXAMPLE) as { detail: { object: Record<string, unknown> } };
    delete event.detail.object['version-id'];
    expect(parseObjectEvents(JSON.stringify(event))[0]).not.toHaveProperty('versionId');
  });
});

describe('classic S3 notifications', () => {
  it("reads AWS's documented example", () => {
    expect(parseObjectEvents(JSON.stringify(S3_NOTIFICATION_EXAMPLE))).toEqual([
      {
        bucket: 'amzn-s3-demo-bucket',
        key: 'HappyFace.jpg',
        versionId: '096fKKXTRTtl3on89fVO.nfljtsv6qko',
        etag: 'd41d8cd98f00b204e9800998ecf8427e',
        size: 1024,
        sequencer: '0055AED6DCD90281E5',
        time: '1970-01-01T00:00:00.000Z',
      },
    ]);
  });

  it.each([
    ['red+flower.csv', 'red flower.csv'],
    ['a%2Bb.csv', 'a+b.csv'],
    ['100%25.csv', '100%.csv'],
    ['%C3%BC-%E6%95%B0%E6%8D%AE.csv', 'ü-数据.csv'],
    ['acme/orders/../x.csv', 'acme/orders/../x.csv'],
    ['%2525.csv', '%25.csv'],
  ])('decodes the form-URL-encoded key %s exactly once, to %s', (encoded, key) => {
    expect(decodeS3Key(encoded)).toBe(key);
    const event = structuredClone(S3_NOTIFICATION_EXAMPLE);
    event.Records[0]!.s3.object.key = encoded;
    expect(parseObjectEvents(JSON.stringify(event))[0]!.key).toBe(key);
  });

  it('ignores the test event S3 sends when a notification is configured', () => {
    expect(parseObjectEvents(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'b' }))).toEqual([]);
  });
});

describe('poison messages', () => {
  it.each([
    ['not JSON', 'hello'],
    ['JSON but no event', '{"a":1}'],
    ['an object removal', JSON.stringify({ ...EVENTBRIDGE_EXAMPLE, 'detail-type': 'Object Deleted' })],
    [
      'a record that is not ObjectCreated',
      JSON.stringify({ Records: [{ ...S3_NOTIFICATION_EXAMPLE.Records[0], eventName: 'ObjectRemoved:Delete' }] }),
    ],
    [
      'bad URL encoding',
      JSON.stringify({
        Records: [
          {
            ...S3_NOTIFICATION_EXAMPLE.Records[0],
            s3: { ...S3_NOTIFICATION_EXAMPLE.Records[0]!.s3, object: { key: '%E0%A4%A', size: 1, eTag: 'x', sequencer: '1' } },
          },
        ],
      }),
    ],
  ])('refuses %s', (_name, body) => {
    expect(() => parseObjectEvents(body)).toThrow(PoisonMessageError);
  });
});
