import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RejectCsvWriter, rejectSummaryHtml, rejectSummaryText } from '../../../../lambdas/transformer/engine/reject-report.js';
import { compileFeed, transformFile } from '../../../../lambdas/transformer/engine/transform.js';
import type { FeedConfig } from '../../../../lambdas/transformer/model.js';
import { makeFeed } from '../../../support/engine.js';

const SCHEMA = { type: 'object', properties: { n: { type: 'number' } } };
const fields = (map: Record<string, string>): FeedConfig['mapping'] => ({
  kind: 'fields',
  fields: Object.entries(map).map(([name, expression]) => ({ name, path: name.split('.'), expression })),
});

/** Runs the engine with a reject report; returns the report's bytes, the outcome and the tally. */
async function report(feed: FeedConfig, input: Buffer, chunkSize = input.length) {
  const sink = () => {
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    return { stream, bytes: () => Buffer.concat(chunks) };
  };
  const csv = sink();
  const writer = new RejectCsvWriter(csv.stream, feed.csv);
  const chunks: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunkSize) chunks.push(input.subarray(i, i + chunkSize));
  const outcome = await transformFile(compileFeed(feed), {
    key: 'test/feed/f.csv',
    input: Readable.from(chunks),
    output: sink().stream,
    rejects: sink().stream,
    rejectReport: writer,
  });
  return { bytes: csv.bytes(), outcome, tally: writer.tally() };
}

describe('the reject CSV', () => {
  it('writes UTF-16LE with its byte-order mark back as UTF-16LE with a BOM, each row the bytes sent', async () => {
    const feed = makeFeed({ csv: { encoding: 'utf-16le' }, mapping: fields({ n: '$number(n)' }), schema: SCHEMA });
    const text = 'id,n\r\n1,2\r\n2,zwei ü\r\n3,4\r\n';
    const input = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const { bytes, outcome } = await report(feed, input, 7); // odd chunks: a character split across them
    expect(outcome.status).toBe('PARTIAL');
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xfe]));
    const body = bytes.subarray(2).toString('utf16le');
    expect(body.startsWith('line,error_code,field,reason,id,n\r\n')).toBe(true);
    expect(body.endsWith(',2,zwei ü\r\n')).toBe(true);
    expect(bytes.subarray(bytes.length - Buffer.from('2,zwei ü\r\n', 'utf16le').length)).toEqual(Buffer.from('2,zwei ü\r\n', 'utf16le'));
  });

  it('quotes a reason with the feed quote and escape, and with quoting off keeps the delimiter out of it', async () => {
    const input = Buffer.from('id|n\n1|x\n');
    const quoted = await report(
      makeFeed({ csv: { delimiter: '|', escape: '\\' }, mapping: fields({ n: '$error("a|b \\"c\\"")' }) }),
      input,
    );
    expect(quoted.bytes.toString()).toBe('line|error_code|field|reason|id|n\n2|MAPPING_ERROR|/n|"/n: a|b \\"c\\" [D3137]"|1|x\n');
    const unquoted = await report(makeFeed({ csv: { delimiter: '|', quote: '' }, mapping: fields({ n: '$error("a|b")' }) }), input);
    expect(unquoted.bytes.toString()).toBe('line|error_code|field|reason|id|n\n2|MAPPING_ERROR|/n|/n: a b [D3137]|1|x\n');
  });

  it('labels a headerless feed with its declared columns, and masks pii values as the rejects do', async () => {
    const feed = makeFeed({
      csv: { header: false, columns: ['email', 'n'] },
      mapping: fields({ email: 'email', n: '$number(n)' }),
      schema: SCHEMA,
      pii: ['email'],
    });
    const { bytes } = await report(feed, Buffer.from('ann@example.com,x\n'));
    const text = bytes.toString();
    expect(text.split('\n')[0]).toBe('line,error_code,field,reason,email,n');
    expect(text).not.toContain('ann@example.com');
  });

  it('counts reasons by code and field, most frequent first, with at most three examples each', async () => {
    const rows = ['id,n', ...Array.from({ length: 5 }, (_, i) => `${i},x${i}`), '9,1,extra'];
    const feed = makeFeed({ mapping: fields({ n: '$number(n)' }), schema: SCHEMA });
    const { tally, outcome } = await report(feed, Buffer.from(`${rows.join('\n')}\n`));
    expect(tally.rows).toBe(6);
    expect(tally.reasons.map((r) => [r.code, r.field, r.count, r.examples.length])).toEqual([
      ['MAPPING_ERROR', '/n', 5, 3],
      ['CSV_MALFORMED', undefined, 1, 1],
    ]);
    const html = rejectSummaryHtml(outcome, tally, { key: 'k<script>', reportKey: 'r.rejects.csv' });
    expect(html).toContain('k&#60;script&#62;');
    expect(html).not.toContain('<script');
    const text = rejectSummaryText(outcome, tally, { key: 'k' });
    expect(text).toContain('5 x MAPPING_ERROR at /n');
    expect(text).toContain('line 2:');
  });
});
