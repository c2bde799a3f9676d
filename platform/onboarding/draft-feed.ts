/**
 * A feed drafted from a partner's sample file: the `csv` block the sniff found, a field-by-field
 * mapping with an expression per column type, the output schema, and the first rows of the sample
 * as a golden case. Pure: reads nothing from disk.
 */
import iconv from 'iconv-lite';
import { Document, isMap, isScalar, isSeq, parseDocument, type Pair, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import type { CsvConfig, Encoding } from '../../lambdas/transformer/model.js';
import { describeType, detectNullValues, expressionFor, inferColumns, schemaFor, type InferredColumn } from './infer-columns.js';
import {
  decodeSample,
  detectEncoding,
  detectLineEnding,
  sniffLayout,
  type DetectedEncoding,
  type LineEnding,
  type SniffedLayout,
} from './sniff.js';

export interface DraftRequest {
  readonly partner: string;
  readonly feed: string;
  /** The sample's file name: its extension becomes the feed's suffix, its base the golden case's name. */
  readonly sampleName: string;
  readonly bytes: Buffer;
  /** Rows in the golden sample. */
  readonly goldenRows: number;
  /** Columns forced to text (after a type the engine rejected on the full sample). */
  readonly textColumns?: ReadonlySet<string>;
}

export interface FeedDraft {
  readonly encoding: DetectedEncoding;
  readonly lineEnding: LineEnding;
  readonly layout: SniffedLayout;
  readonly csv: CsvConfig;
  readonly columns: readonly InferredColumn[];
  /** Output field -> expression, in column order. */
  readonly mapping: readonly (readonly [string, string])[];
  readonly schema: Record<string, unknown>;
  readonly suffix: string;
  /** The golden case's name and bytes: the preamble, the header and the first rows, exactly as in the sample. */
  readonly goldenName: string;
  readonly goldenCsv: Buffer;
  readonly goldenRowCount: number;
}

/** Sniffs, types and drafts a feed from a sample's bytes. Throws `SniffError` on a file it cannot read. */
export function draftFeed(request: DraftRequest): FeedDraft {
  const encoding = detectEncoding(request.bytes);
  const text = decodeSample(request.bytes, encoding);
  const layout = sniffLayout(text);
  const rows = layout.rows.filter((r) => !r.error && r.fields.length === layout.columns.length).map((r) => r.fields);
  const nullValues = detectNullValues(rows);
  const european = layout.dialect.delimiter === ';' || rows.some((r) => r.some((c) => /^-?\d{1,3}(\.\d{3})*,\d{1,2}$/.test(c)));
  const columns = inferColumns(layout.columns, rows, nullValues, { european }).map((c) =>
    request.textColumns?.has(c.column) ? { ...c, type: { kind: 'string' as const } } : c,
  );
  const csv: CsvConfig = {
    delimiter: layout.dialect.delimiter,
    quote: layout.dialect.quote,
    escape: layout.dialect.escape,
    encoding: encoding.encoding,
    header: layout.header,
    columns: layout.columns,
    skipLines: layout.skipLines,
    trim: layout.trim,
    nullValues,
  };
  const mapping = columns.map((c) => [c.output, expressionFor(c.column, c.type, !c.required)] as const);
  const schema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    'x-version': '1.0.0', // the output contract's first version (validate --base checks later changes)
    title: `${request.partner}/${request.feed} record`,
    description: `Drafted by partner-etl init from ${request.sampleName}; review the types, formats and enums.`,
    type: 'object',
    additionalProperties: false,
    required: columns.filter((c) => c.required).map((c) => c.output),
    properties: Object.fromEntries(columns.map((c) => [c.output, schemaFor(c.type)])),
  };
  const dot = request.sampleName.lastIndexOf('.');
  const suffix =
    dot > 0 && /^\.[A-Za-z0-9]{1,10}$/.test(request.sampleName.slice(dot)) ? request.sampleName.slice(dot).toLowerCase() : '.csv';
  const base = (dot > 0 ? request.sampleName.slice(0, dot) : request.sampleName).replace(/[^A-Za-z0-9_.-]/g, '-') || 'sample';
  const golden = goldenHead(request.bytes, encoding, text, layout, request.goldenRows);
  return {
    encoding,
    lineEnding: detectLineEnding(text),
    layout,
    csv,
    columns,
    mapping,
    schema,
    suffix,
    goldenName: base,
    goldenCsv: golden.bytes,
    goldenRowCount: golden.rows,
  };
}

/** The sample's bytes up to the end of data row `n`: preamble, header and rows exactly as the partner wrote them. */
function goldenHead(
  bytes: Buffer,
  encoding: DetectedEncoding,
  text: string,
  layout: SniffedLayout,
  n: number,
): { bytes: Buffer; rows: number } {
  if (layout.rows.length <= n) return { bytes, rows: layout.rows.length };
  const nextLine = layout.rows[n]!.line; // the first physical line not taken
  let line = 1;
  let offset = 0;
  while (line < nextLine && offset < text.length) {
    const c = text.charCodeAt(offset++);
    if (c === 10 || (c === 13 && text.charCodeAt(offset) !== 10)) line++;
  }
  const head = Buffer.concat([bytes.subarray(0, encoding.bomLength), encode(text.slice(0, offset), encoding.encoding)]);
  // Decoding was strict and lossless, so encoding the same characters gives the partner's own bytes back.
  if (!bytes.subarray(0, head.length).equals(head)) return { bytes, rows: layout.rows.length };
  return { bytes: head, rows: n };
}

function encode(text: string, encoding: Encoding): Buffer {
  if (encoding === 'utf-8') return Buffer.from(text, 'utf8');
  if (encoding === 'utf-16le') return Buffer.from(text, 'utf16le');
  if (encoding === 'utf-16be') return Buffer.from(text, 'utf16le').swap16();
  return iconv.encode(text, encoding);
}

/** What the sniff found, one line each, for the printed report and the YAML comment. */
export function describeDraft(draft: FeedDraft): string[] {
  const d = draft.layout.dialect;
  const show = (c: string) => (c === '\t' ? 'tab' : c === '' ? 'none' : JSON.stringify(c));
  return [
    `encoding ${draft.encoding.encoding} (${draft.encoding.reason}), line ends ${draft.lineEnding}`,
    `delimiter ${show(d.delimiter)}, quote ${show(d.quote)}, escape ${d.quote === '' ? 'none' : d.escape === d.quote ? 'doubled quote' : show(d.escape)}`,
    `${draft.layout.header ? 'header' : 'no header'}, ${draft.layout.skipLines} preamble line${draft.layout.skipLines === 1 ? '' : 's'}` +
      `${draft.layout.trim ? ', spaces around values (trimmed)' : ''}, null values ${draft.csv.nullValues.map((v) => JSON.stringify(v)).join(' ')}`,
    ...draft.columns.map(
      (c) =>
        `column ${JSON.stringify(c.column)} -> ${c.output}: ${describeType(c.type)}${c.required ? ', required' : ''} (${c.nonNull} values)`,
    ),
  ];
}

export interface PartnerMeta {
  readonly name: string;
  readonly owner: string;
}

/**
 * The partner file with the drafted feed: a new file, or the existing one (comments kept) with the
 * feed appended to `feeds`. Only settings that differ from the defaults are written.
 */
export function renderPartnerFile(
  existing: string | undefined,
  partner: string,
  feedId: string,
  meta: PartnerMeta,
  draft: FeedDraft,
): string {
  const doc = existing === undefined ? newPartnerDocument(partner, meta) : parseDocument(existing);
  const feeds = doc.get('feeds', true);
  if (!isSeq(feeds)) throw new Error(`partners/${partner}.yaml has no feeds list`);
  (feeds as YAMLSeq).items.push(feedNode(doc, partner, feedId, draft));
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

function newPartnerDocument(partner: string, meta: PartnerMeta): Document {
  const doc = new Document({ id: partner, name: meta.name, owner: meta.owner, feeds: [] });
  doc.commentBefore = ' yaml-language-server: $schema=../platform/config/partner.schema.json';
  return doc;
}

function feedNode(doc: Document, partner: string, feedId: string, draft: FeedDraft): YAMLMap {
  const c = draft.csv;
  const csv: Record<string, unknown> = {};
  if (c.delimiter !== ',') csv.delimiter = c.delimiter;
  if (c.quote !== '"') csv.quote = c.quote;
  if (c.escape !== c.quote) csv.escape = c.escape;
  if (c.encoding !== 'utf-8') csv.encoding = c.encoding;
  if (!c.header) csv.header = false;
  if (c.skipLines > 0) csv.skipLines = c.skipLines;
  if (c.trim) csv.trim = true;
  if (c.nullValues.length !== 1 || c.nullValues[0] !== '') csv.nullValues = c.nullValues;
  csv.columns = c.columns;
  const node = doc.createNode({
    id: feedId,
    description: `Drafted by partner-etl init from ${draft.goldenName}${draft.suffix}`,
    source: { prefix: `${partner}/${feedId}/`, suffix: draft.suffix },
    csv,
    mapping: Object.fromEntries(draft.mapping),
    schema: `${feedId}.schema.json`,
    output: { dataset: feedId },
  }) as YAMLMap;
  const csvNode = node.get('csv', true) as unknown as YAMLMap;
  for (const key of ['columns', 'nullValues']) {
    const seq = csvNode.get(key, true);
    if (isSeq(seq)) seq.flow = true;
  }
  for (const key of ['delimiter', 'quote', 'escape']) {
    const scalar = csvNode.get(key, true);
    if (isScalar(scalar)) scalar.type = 'QUOTE_DOUBLE'; // a lone ";" or "|" reads better quoted
  }
  const sniffed = describeDraft(draft).slice(0, 3);
  (keyOf(node, 'csv') as Scalar).commentBefore = sniffed.map((line) => ` ${line}`).join('\n');
  const mappingNode = node.get('mapping', true);
  if (isMap(mappingNode)) {
    (mappingNode.items as Pair[]).forEach((pair, i) => {
      const column = draft.columns[i]!;
      const value = pair.value as Scalar;
      if (typeof value.value === 'string' && value.value.includes('\n')) value.type = 'BLOCK_LITERAL';
      if (column.type.kind === 'day-month-date' && column.type.assumed) {
        (pair.key as Scalar).commentBefore = ` ${describeType(column.type)}: check the order with the partner`;
      }
    });
  }
  return node;
}

function keyOf(map: YAMLMap, key: string): unknown {
  return (map.items as Pair[]).find((p) => (p.key as Scalar).value === key)?.key;
}

/** JSON as the repository's schemas are written: two-space indents, short flat objects and arrays on one line. */
export function formatJson(value: unknown, indent = ''): string {
  const inline = inlineJson(value);
  if (indent.length + inline.length <= 100 || value === null || typeof value !== 'object') return inline;
  const inner = `${indent}  `;
  if (Array.isArray(value)) return `[\n${value.map((v) => inner + formatJson(v, inner)).join(',\n')}\n${indent}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${formatJson(v, inner)}`).join(',\n')}\n${indent}}`;
}

/** The value on one line, with a space inside braces: `{ "type": "string", "enum": ["EUR"] }`. */
function inlineJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(inlineJson).join(', ')}]`;
  const entries = Object.entries(value);
  return entries.length === 0 ? '{}' : `{ ${entries.map(([k, v]) => `${JSON.stringify(k)}: ${inlineJson(v)}`).join(', ')} }`;
}
