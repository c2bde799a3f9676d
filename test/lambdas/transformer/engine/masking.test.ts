import { describe, expect, it } from 'vitest';
import { maskText, maskValue } from '../../../../lambdas/transformer/engine/mask.js';
import type { FeedConfig } from '../../../../lambdas/transformer/model.js';
import { loadPlatformConfig } from '../../../../platform/config/load-config.js';
import { formatProblem } from '../../../../platform/config/problems.js';
import { makeConfigRoot, validFiles, VALID_PARTNER } from '../../../support/config-root.js';
import { makeFeed, runEngine } from '../../../support/engine.js';

function customers(extra: Partial<FeedConfig> = {}): FeedConfig {
  return makeFeed({
    csv: { columns: ['id', 'email', 'name', 'amount'] },
    mapping: {
      kind: 'fields',
      fields: [
        { name: 'id', path: ['id'], expression: 'id' },
        { name: 'customer.email', path: ['customer', 'email'], expression: '$lowercase(email)' },
        { name: 'customer.name', path: ['customer', 'name'], expression: 'name' },
        { name: 'amount', path: ['amount'], expression: '$number(amount)' },
      ],
    },
    schema: {
      type: 'object',
      properties: {
        amount: { type: 'number', minimum: 0 },
        customer: { type: 'object', properties: { email: { type: 'string', pattern: '^[^@]+@[^@]+$' } } },
      },
    },
    pii: ['customer.email', 'name'],
    ...extra,
  });
}

const CSV = [
  'id,email,name,amount',
  'A-1,John@Example.com,John Smith,5',
  'A-2,jane@example.org,Jane Doe,-1', // a schema violation: amount
  'A-3,not-an-address@@x,Bob Stone,2', // a schema violation that quotes the e-mail
  'A-4,kim@example.net,Kim Park', // CSV_MALFORMED: a field short
  '',
].join('\n');
const SECRETS = [
  'John@Example.com',
  'john@example.com',
  'John Smith',
  'jane@example.org',
  'Jane Doe',
  'not-an-address@@x',
  'Bob Stone',
  'kim@example.net',
  'Kim Park',
];

describe('masking personal data (pii)', () => {
  it('masks e-mail addresses as j***@e***.com and other values to their first character', () => {
    expect(maskValue('john@example.com')).toBe('j***@e***.com');
    expect(maskValue('Jane Doe')).toBe('J***');
    expect(maskValue('Ärger')).toBe('Ä***');
    expect(maskValue(42)).toBe('***');
    expect(maskText('"a \\"q\\" b",x', ['a "q" b'])).toBe('"a***",x');
  });

  it('masks the tagged columns and fields in the rejects (raw row and message), and leaves the output alone without output.mask', async () => {
    const run = await runEngine(customers(), CSV);
    expect(run.outcome.rowsRejected).toBe(3);
    const rejects = JSON.stringify(run.rejects);
    for (const secret of SECRETS) expect(rejects, secret).not.toContain(secret);
    expect(run.rejects.map((r) => r.raw)).toEqual(['A-2,j***@e***.org,J***,-1', 'A-3,n***,B***,2', 'A-4,k***@e***.net,K***']);
    expect(run.records[0]).toEqual({ id: 'A-1', customer: { email: 'john@example.com', name: 'John Smith' }, amount: 5 });
  });

  it('masks the tagged output fields in the output with output.mask', async () => {
    const run = await runEngine(customers({ output: { dataset: 'test', format: 'ndjson', mask: true } }), CSV);
    expect(run.records).toEqual([{ id: 'A-1', customer: { email: 'j***@e***.com', name: 'John Smith' }, amount: 5 }]);
    expect(run.output).not.toContain('john@example.com');
  });

  it('reads pii and output.mask from the partner file, and refuses output.mask without pii at its line and column', () => {
    const tagged = VALID_PARTNER.replace(
      '    output:\n      dataset: orders\n',
      '    pii: [amount]\n    output:\n      dataset: orders\n      mask: true\n',
    );
    const { config, problems } = loadPlatformConfig(makeConfigRoot({ ...validFiles(), 'partners/acme.yaml': tagged }));
    expect(problems).toEqual([]);
    expect(config.partners[0]!.feeds[0]).toMatchObject({ pii: ['amount'], output: { dataset: 'orders', format: 'ndjson', mask: true } });

    const untagged = VALID_PARTNER.replace('      dataset: orders\n', '      dataset: orders\n      mask: true\n');
    const refused = loadPlatformConfig(makeConfigRoot({ ...validFiles(), 'partners/acme.yaml': untagged })).problems.map(formatProblem);
    expect(refused).toEqual([
      'partners/acme.yaml:16:13: output.mask masks the pii fields and the feed names none: add pii, or remove output.mask (true)',
    ]);
  });
});
