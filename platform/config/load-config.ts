import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node as YamlNode, type Pair } from 'yaml';
import {
  type CsvConfig,
  type Encoding,
  type FeedConfig,
  type FieldMappingConfig,
  type MappingConfig,
  type OutputFormat,
  type PartnerAccessConfig,
  type PartnerConfig,
  type PlatformConfig,
} from '../../lambdas/transformer/model.js';
import { closestColumn } from '../../lambdas/transformer/engine/column-names.js';
import { findColumnReads, type ColumnRead } from '../../lambdas/transformer/engine/column-reads.js';
import { compileExpression, ExpressionSyntaxError } from '../../lambdas/transformer/engine/mapping.js';
import { checkSchema } from '../../lambdas/transformer/engine/schema.js';
import { ajvRegExp, LinearRegexError } from '../../lambdas/transformer/engine/linear-regex.js';
import partnerSchema from './partner.schema.json' with { type: 'json' };
import { schemaVersion } from './schema-compat.js';
import { parseSchedule, type RawSchedule, type ScheduleConfig } from '../../lambdas/transformer/schedule.js';
import { checkProducedFields, fieldTree, expressionTree } from './required-fields.js';
import { ConfigError, sortProblems, type ConfigProblem } from './problems.js';
import { sampleFiles, samplesFolder } from './golden.js';
import { findUncontainedEntries, whyNotContained } from './contained-files.js';
import { positionInScalar } from './source-position.js';
import { piiCandidates, sampleHeaders, whyUnknownPii } from './pii-names.js';

/** Largest partner file read; YAML is configuration, not data. */
const MAX_PARTNER_FILE_BYTES = 256 * 1024;
/** Largest schema or mapping file read. */
const MAX_REFERENCED_FILE_BYTES = 1024 * 1024;
/** YAML aliases a partner file may expand (guards against billion-laughs documents). */
const MAX_ALIAS_COUNT = 100;
/** Output names that would reach `Object.prototype` when nested objects are built. */
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);
const PARTNER_ID = new RegExp(partnerSchema.properties.id.pattern);

export interface LoadResult {
  /** The partners that loaded; complete only when `problems` holds no error. */
  readonly config: PlatformConfig;
  readonly problems: readonly ConfigProblem[];
}

export interface LoadOptions {
  /** Warn about every feed without a golden sample (what `validate` runs). */
  readonly checkSamples?: boolean;
}

/** Loads and checks every partner file under `root/partners`, with the files they reference under `root/mappings`. */
export function loadPlatformConfig(root: string, options: LoadOptions = {}): LoadResult {
  const problems: ConfigProblem[] = [];
  const partners: PartnerConfig[] = [];
  const partnersDir = join(root, 'partners');
  if (!existsSync(partnersDir)) {
    problems.push({ severity: 'error', file: 'partners', line: 1, column: 1, message: `no partners/ folder under ${root}` });
    return { config: { partners }, problems };
  }
  // Nothing under partners/ or mappings/ is read through a symbolic link: each one is an error.
  const uncontained = findUncontainedEntries(root);
  for (const f of uncontained) problems.push(problem(f.file, 1, 1, f.message, f.target));
  if (uncontained.some((f) => f.file === 'partners')) return { config: { partners }, problems: sortProblems(problems) };
  const validateShape = new Ajv({ strict: true, allErrors: true, verbose: true }).compile(partnerSchema);
  const files = readdirSync(partnersDir).sort();
  const byFile = new Map<string, LoadedPartner>();
  for (const name of files) {
    const file = `partners/${name}`;
    if (!name.endsWith('.yaml')) {
      problems.push(problem(file, 1, 1, 'partners/ holds only <partner-id>.yaml files; move or rename this one'));
      continue;
    }
    if (!lstatSync(join(root, file)).isFile()) continue; // a link or a special file: reported above, never read
    const loaded = loadPartnerFile(root, file, validateShape, problems);
    if (loaded) byFile.set(file, loaded);
  }
  checkAcrossPartners([...byFile.values()], problems);
  for (const loaded of byFile.values()) partners.push(loaded.partner);
  checkMappingsFolder(
    root,
    files.filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length)),
    partners,
    problems,
  );
  if (options.checkSamples) for (const loaded of byFile.values()) warnFeedsWithoutSamples(root, loaded, problems);
  return { config: { partners }, problems: sortProblems(problems) };
}

/** A feed with no golden sample has nothing to show that its mapping works: a warning at its id. */
function warnFeedsWithoutSamples(root: string, loaded: LoadedPartner, problems: ConfigProblem[]): void {
  for (const feed of loaded.partner.feeds) {
    if (sampleFiles(root, feed).length > 0) continue;
    const index = loaded.prefixes.find((p) => p.feed === `${feed.partner}/${feed.id}`)?.index ?? 0;
    const pos = locate(loaded.doc, loaded.lines, ['feeds', index, 'id']);
    problems.push({
      severity: 'warning',
      file: loaded.file,
      line: pos.line,
      column: pos.column,
      message:
        `feed ${feed.partner}/${feed.id} has no golden sample: add ${samplesFolder(feed)}/<name>.csv ` +
        '(partner-etl validate --update writes its expected output)',
    });
  }
}

/** Loads the configuration or throws a `ConfigError` listing every problem (warnings do not throw). */
export function requireValidConfig(root: string): PlatformConfig {
  const { config, problems } = loadPlatformConfig(root);
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) throw new ConfigError(errors);
  return config;
}

interface LoadedPartner {
  readonly file: string;
  readonly partner: PartnerConfig;
  readonly doc: Document;
  readonly lines: LineCounter;
  /** Every feed's source prefix with its index in the file, including feeds that did not load. */
  readonly prefixes: readonly { feed: string; prefix: string; index: number }[];
}

function problem(file: string, line: number, column: number, message: string, value?: unknown): ConfigProblem {
  return value === undefined
    ? { severity: 'error', file, line, column, message }
    : { severity: 'error', file, line, column, message, value };
}

type Path = readonly (string | number)[];

/** Finds where a path of the document is written: its value, or its key when `at` is 'key'. */
function locate(doc: Document, lines: LineCounter, path: Path, at: 'value' | 'key' = 'value'): { line: number; column: number } {
  let node: unknown = doc.contents;
  let keyNode: unknown;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = (node.items as Pair[]).find((p) => (isScalar(p.key) ? p.key.value : p.key) === segment);
      if (!pair) break;
      keyNode = pair.key;
      node = pair.value;
    } else if (node && typeof node === 'object' && 'items' in node && Array.isArray((node as { items: unknown[] }).items)) {
      const item = (node as { items: unknown[] }).items[segment as number];
      if (item === undefined) break;
      keyNode = item;
      node = item;
    } else {
      break;
    }
  }
  const target = (at === 'key' ? keyNode : node) ?? node ?? doc.contents;
  const range = (target as YamlNode | undefined)?.range;
  const pos = lines.linePos(range ? range[0] : 0);
  return { line: pos.line, column: pos.col };
}

function loadPartnerFile(
  root: string,
  file: string,
  validateShape: ReturnType<Ajv['compile']>,
  problems: ConfigProblem[],
): LoadedPartner | undefined {
  const path = join(root, file);
  const size = statSync(path).size;
  if (size > MAX_PARTNER_FILE_BYTES) {
    problems.push(problem(file, 1, 1, `partner file is ${size} bytes; the limit is ${MAX_PARTNER_FILE_BYTES}`));
    return undefined;
  }
  const lines = new LineCounter();
  const source = readFileSync(path, 'utf8');
  const doc = parseDocument(source, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const pos = err.linePos?.[0] ?? { line: 1, col: 1 };
      problems.push(problem(file, pos.line, pos.col, `YAML: ${err.message.split('\n')[0]}`));
    }
    return undefined;
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    problems.push(problem(file, 1, 1, `YAML: ${(err as Error).message}`));
    return undefined;
  }
  // Every shape error is reported. So that one run still lists everything, the invalid values are
  // dropped (defaults take their place) and each feed gets every deeper check; a feed with a shape
  // error is checked but never loaded.
  const invalidFeeds = new Set<number>();
  let feedsUnreadable = false;
  if (!validateShape(data)) {
    for (const err of validateShape.errors ?? []) {
      problems.push(describeShapeError(file, doc, lines, err));
      const feed = /^\/feeds\/(\d+)(\/|$)/.exec(err.instancePath);
      const missing = err.keyword === 'required' ? (err.params as { missingProperty: string }).missingProperty : undefined;
      if (feed) {
        invalidFeeds.add(Number(feed[1]));
        if (feed[2] === '/') dropValue(data, err.instancePath);
        if (err.keyword === 'additionalProperties') {
          dropValue(data, `${err.instancePath}/${(err.params as { additionalProperty: string }).additionalProperty}`);
        }
      } else if (
        err.instancePath === '/feeds' ||
        (err.instancePath === '' && (missing === 'feeds' || missing === 'id' || err.keyword === 'type'))
      ) {
        feedsUnreadable = true;
      }
    }
  }
  if (feedsUnreadable) return undefined;
  const raw = data as RawPartner;
  const at = (p: Path, where: 'value' | 'key' = 'value') => locate(doc, lines, p, where);
  const report = (p: Path, message: string, value?: unknown, where: 'value' | 'key' = 'value') => {
    const pos = at(p, where);
    problems.push(problem(file, pos.line, pos.column, message, value));
  };
  const warn = (p: Path, message: string) => {
    const pos = at(p);
    problems.push({ severity: 'warning', file, line: pos.line, column: pos.column, message });
  };
  // A position inside a string value (an expression): exact line and column, block scalars included.
  const reportIn = (p: Path, index: number, message: string, value?: unknown, severity: ConfigProblem['severity'] = 'error') => {
    const pos = positionInScalar(doc.getIn(p, true), source, lines, index) ?? at(p);
    problems.push({ ...problem(file, pos.line, pos.column, message, value), severity });
  };

  const expectedName = `${raw.id}.yaml`;
  if (PARTNER_ID.test(raw.id) && file !== `partners/${expectedName}`) {
    report(['id'], `the file name must be the partner id: rename the file to partners/${expectedName} or change id`, raw.id);
  }

  // AWS Transfer Family user names have at least 3 characters; the SFTP user is named after the partner.
  if (raw.access?.sftp && typeof raw.id === 'string' && raw.id.length < 3) {
    report(['access', 'sftp'], `an SFTP user is named after its partner and needs an id of at least 3 characters`, raw.id, 'key');
  }

  const feeds: FeedConfig[] = [];
  const feedIds = new Map<string, number>();
  raw.feeds.forEach((rawFeed, index) => {
    if (!rawFeed || typeof rawFeed !== 'object') return;
    const first = feedIds.get(rawFeed.id);
    if (first !== undefined) {
      report(['feeds', index, 'id'], `feed id is already used by feeds[${first}]; feed ids must be unique within a partner`, rawFeed.id);
      return;
    }
    feedIds.set(rawFeed.id, index);
    const feed = buildFeed(root, raw.id, rawFeed, ['feeds', index], doc, { report, reportIn, warn, problems });
    if (feed && !invalidFeeds.has(index)) feeds.push(feed);
  });
  const prefixes = raw.feeds.flatMap((f, index) =>
    f && typeof f.source?.prefix === 'string' ? [{ feed: `${raw.id}/${f.id}`, prefix: f.source.prefix, index }] : [],
  );
  const partner = { id: raw.id, name: raw.name, owner: raw.owner, feeds };
  return { file, doc, lines, prefixes, partner: raw.access === undefined ? partner : { ...partner, access: raw.access } };
}

/** Removes the value at a JSON pointer (a whole array when the pointer is inside one). */
function dropValue(data: unknown, pointer: string): void {
  const segments = pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let parent: unknown = data;
  for (let i = 0; i < segments.length - 1; i++) {
    const next = (parent as Record<string, unknown>)[segments[i]!];
    if (Array.isArray(next) && i < segments.length - 2 && !/^feeds$/.test(segments[i]!)) {
      delete (parent as Record<string, unknown>)[segments[i]!];
      return;
    }
    if (!next || typeof next !== 'object') return;
    parent = next;
  }
  const last = segments[segments.length - 1]!;
  if (Array.isArray(parent)) return; // a feed itself is never dropped
  delete (parent as Record<string, unknown>)[last];
}

interface RawPartner {
  id: string;
  name: string;
  owner: string;
  access?: PartnerAccessConfig;
  feeds: RawFeed[];
}

interface RawFeed {
  id: string;
  description?: string;
  source: { prefix: string; suffix?: string };
  csv?: {
    delimiter?: string;
    quote?: string;
    escape?: string;
    encoding?: Encoding;
    header?: boolean;
    columns?: string[];
    optionalColumns?: string[];
    skipLines?: number;
    trim?: boolean;
    nullValues?: string[];
  };
  mapping?: Record<string, string>;
  mappingFile?: string;
  schema: string;
  output: { dataset: string; format?: OutputFormat; mask?: boolean };
  pii?: string[];
  errors?: { maxRejectedPercent?: number };
  maxFileMiB?: number;
  concurrency?: number;
  split?: { aboveMiB: number; chunkMiB?: number };
  schedule?: RawSchedule;
}

interface Reporter {
  report(path: Path, message: string, value?: unknown, where?: 'value' | 'key'): void;
  /** Reports at character `index` of the string value at `path`. */
  reportIn(path: Path, index: number, message: string, value?: unknown, severity?: ConfigProblem['severity']): void;
  warn(path: Path, message: string): void;
  problems: ConfigProblem[];
}

function buildFeed(root: string, partner: string, raw: RawFeed, path: Path, doc: Document, r: Reporter): FeedConfig | undefined {
  let ok = true;
  const fail = (p: Path, message: string, value?: unknown, where?: 'value' | 'key') => {
    ok = false;
    r.report([...path, ...p], message, value, where);
  };

  // A partner receives files only under its own prefix: partner evil may not declare acme/refunds/.
  if (typeof raw.source?.prefix === 'string' && !raw.source.prefix.startsWith(`${partner}/`)) {
    fail(
      ['source', 'prefix'],
      `source prefix must begin with the partner id: ${partner}/ (e.g. ${partner}/${raw.id}/); a partner receives files only under its own prefix`,
      raw.source.prefix,
    );
  }
  const csv = buildCsv(raw.csv ?? {}, (p, m, v) => fail(['csv', ...p], m, v));
  if (!csv.header && !csv.columns)
    fail(raw.csv ? ['csv'] : [], '`columns` is required when `header` is false: list the column names in file order');

  let mapping: MappingConfig | undefined;
  if ((raw.mapping === undefined) === (raw.mappingFile === undefined)) {
    fail([], 'a feed needs exactly one of `mapping` (field -> expression) and `mappingFile` (one .jsonata file)', undefined, 'value');
  }
  if (raw.mapping && typeof raw.mapping === 'object') {
    const failIn = (name: string, index: number, message: string, value: unknown) => {
      ok = false;
      r.reportIn([...path, 'mapping', name], index, message, value);
    };
    mapping = buildFieldMapping(raw.mapping, doc, path, fail, failIn);
  }
  if (typeof raw.mappingFile === 'string') {
    const rel = `mappings/${partner}/${raw.mappingFile}`;
    const text = readReferenced(root, partner, rel, (m) => fail(['mappingFile'], m, raw.mappingFile));
    if (text !== undefined) {
      try {
        compileExpression(text);
        mapping ??= { kind: 'expression', file: raw.mappingFile, expression: text };
      } catch (err) {
        const e = err as ExpressionSyntaxError;
        const pos = positionInText(text, errorIndex(e) + 1);
        ok = false;
        r.problems.push(problem(rel, pos.line, pos.column, `JSONata: ${e.message}`, tokenAt(text, e.position)));
      }
    }
  }

  const schemaRel = `mappings/${partner}/${raw.schema}`;
  let schema: Record<string, unknown> | undefined;
  const schemaText =
    raw.schema === undefined ? undefined : readReferenced(root, partner, schemaRel, (m) => fail(['schema'], m, raw.schema));
  if (schemaText !== undefined) {
    schema = parseSchema(schemaText, schemaRel, r.problems);
    if (!schema) ok = false;
  }

  if (mapping) checkColumnReads(partner, raw, csv, mapping, path, r, () => (ok = false));

  if (mapping && schema) {
    const tree = mapping.kind === 'fields' ? fieldTree(mapping.fields) : expressionTree(mapping.expression);
    const where: Path = mapping.kind === 'fields' ? ['mapping'] : ['mappingFile'];
    for (const finding of checkProducedFields(schema, tree)) {
      if (finding.severity === 'error') fail(where, `${finding.message} (schema ${raw.schema})`);
      else r.warn([...path, ...where], finding.message);
    }
  }

  if (mapping && schema && Array.isArray(raw.pii) && raw.pii.length > 0) {
    const samples = sampleFiles(root, { partner, id: raw.id }).map((file) => `${samplesFolder({ partner, id: raw.id })}/${file}`);
    const known = piiCandidates({ mapping, schema, csv, sampleHeaders: sampleHeaders(root, partner, samples, csv) });
    raw.pii.forEach((name, i) => {
      const why = whyUnknownPii(name, known);
      if (why) fail(['pii', i], why, name);
    });
  }
  if (raw.output?.mask && !raw.pii?.length) {
    r.report([...path, 'output', 'mask'], 'output.mask masks the pii fields and the feed names none: add pii, or remove output.mask', true);
  }
  if (!ok || !mapping || !schema || !raw.source?.prefix || !raw.output?.dataset) return undefined;
  const base = {
    partner,
    id: raw.id,
    source: { prefix: raw.source.prefix, suffix: raw.source.suffix ?? '.csv' },
    csv,
    mapping,
    schemaFile: raw.schema,
    schema,
    ...versionOf(schema),
    output: { dataset: raw.output.dataset, format: raw.output.format ?? 'ndjson', ...(raw.output.mask ? { mask: true } : {}) },
    ...(raw.pii?.length ? { pii: raw.pii } : {}),
    errors: { maxRejectedPercent: raw.errors?.maxRejectedPercent ?? 0 },
    maxFileMiB: raw.maxFileMiB ?? 2048,
    concurrency: raw.concurrency ?? 5,
  } satisfies FeedConfig;
  const split = raw.split ? { aboveMiB: raw.split.aboveMiB, chunkMiB: raw.split.chunkMiB ?? 128 } : undefined;
  if (split && split.aboveMiB >= base.maxFileMiB) {
    r.warn(
      [...path, 'split', 'aboveMiB'],
      `no file is ever split: files above maxFileMiB (${base.maxFileMiB}) are refused; raise maxFileMiB`,
    );
  }
  const withSplit = split ? { ...base, split } : base;
  let schedule: ScheduleConfig | undefined;
  if (raw.schedule) {
    const parsed = parseSchedule(raw.schedule);
    for (const p of parsed.problems) fail(['schedule', ...(p.key ? [p.key] : [])], p.message, p.value);
    if (!parsed.schedule) return undefined;
    schedule = parsed.schedule;
  }
  const withSchedule = schedule ? { ...withSplit, schedule } : withSplit;
  return raw.description === undefined ? withSchedule : { ...withSchedule, description: raw.description };
}

function buildCsv(raw: NonNullable<RawFeed['csv']>, fail: (p: Path, message: string, value?: unknown) => void): CsvConfig {
  let delimiter = raw.delimiter ?? ',';
  if (delimiter === '\\t') delimiter = '\t';
  if (delimiter.length !== 1) fail(['delimiter'], 'delimiter must be one character, or "\\t" for tab', raw.delimiter);
  const quote = raw.quote ?? '"';
  const escape = raw.escape ?? quote;
  for (const [name, value] of [
    ['delimiter', delimiter],
    ['quote', quote],
    ['escape', escape],
  ] as const) {
    if (value === '\n' || value === '\r') fail([name], `${name} cannot be a line break`, value);
  }
  if (quote !== '' && delimiter === quote) fail(['quote'], 'quote and delimiter must differ', quote);
  if (quote === '' && raw.escape !== undefined) fail(['escape'], 'escape has no meaning when quoting is off (quote: "")', raw.escape);
  const encoding = raw.encoding ?? 'utf-8';
  const csv: CsvConfig = {
    delimiter,
    quote,
    escape: quote === '' ? '' : escape,
    encoding,
    header: raw.header ?? true,
    skipLines: raw.skipLines ?? 0,
    trim: raw.trim ?? false,
    nullValues: raw.nullValues ?? [''],
  };
  const optional = raw.optionalColumns;
  if (optional && raw.header === false) {
    fail(['optionalColumns'], "optionalColumns needs a header: with header: false the columns are the file's, by position", optional);
  }
  optional?.forEach((name, i) => {
    if (raw.columns?.includes(name)) {
      fail(
        ['optionalColumns', i],
        'a column is either in columns (files must have it) or in optionalColumns (files may lack it), not both',
        name,
      );
    }
  });
  return {
    ...csv,
    ...(raw.columns ? { columns: raw.columns } : {}),
    ...(optional ? { optionalColumns: optional } : {}),
  };
}

/**
 * Every column the mapping reads must be one the file has: with declared `columns`, each read
 * column is declared or optional. (Without `columns`, the header of each golden sample, and of each
 * file at run time, is checked.) An optional column the mapping never reads is a warning.
 */
function checkColumnReads(
  partner: string,
  raw: RawFeed,
  csv: CsvConfig,
  mapping: MappingConfig,
  feedPath: Path,
  r: Reporter,
  markFailed: () => void,
): void {
  const reads: { read: ColumnRead; report: (message: string, value: unknown) => void }[] = [];
  let wholeRow = false;
  if (mapping.kind === 'fields') {
    for (const field of mapping.fields) {
      const found = findColumnReads(field.expression);
      wholeRow ||= found.wholeRow;
      for (const read of found.reads) {
        reads.push({ read, report: (m, v) => r.reportIn([...feedPath, 'mapping', field.name], read.offset, m, v) });
      }
    }
  } else {
    const file = `mappings/${partner}/${mapping.file}`;
    const found = findColumnReads(mapping.expression);
    wholeRow = found.wholeRow;
    for (const read of found.reads) {
      const pos = positionInText(mapping.expression, read.offset + 1);
      reads.push({ read, report: (m, v) => r.problems.push(problem(file, pos.line, pos.column, m, v)) });
    }
  }
  const optional = csv.optionalColumns ?? [];
  if (csv.columns) {
    const known = new Set([...csv.columns, ...optional]);
    const reported = new Set<string>();
    for (const { read, report } of reads) {
      if (known.has(read.column) || reported.has(read.column)) continue;
      reported.add(read.column);
      markFailed();
      const closest = closestColumn(read.column, csv.columns);
      const hint = closest ? `; did you mean ${JSON.stringify(closest.name)}?` : '';
      const fix = csv.header
        ? 'add it to csv.columns, or to csv.optionalColumns if files may lack it'
        : 'with header: false a row has only the columns listed there';
      report(`the mapping reads column ${JSON.stringify(read.column)}, which is not in csv.columns${hint} (${fix})`, read.column);
    }
  }
  if (wholeRow || !raw.csv?.optionalColumns) return;
  const readColumns = new Set(reads.map((x) => x.read.column));
  optional.forEach((name, i) => {
    if (!readColumns.has(name))
      r.warn([...feedPath, 'csv', 'optionalColumns', i], `optionalColumns lists ${JSON.stringify(name)}, which the mapping never reads`);
  });
}

function buildFieldMapping(
  raw: Record<string, string>,
  doc: Document,
  feedPath: Path,
  fail: (p: Path, message: string, value?: unknown, where?: 'value' | 'key') => void,
  failIn: (name: string, index: number, message: string, value: unknown) => void,
): MappingConfig | undefined {
  // Field order comes from the YAML node, not from the JS object, whose integer-like keys would move first.
  const node = doc.getIn([...feedPath, 'mapping'], true);
  const names = isMap(node) ? (node.items as Pair[]).map((p) => String(isScalar(p.key) ? p.key.value : p.key)) : Object.keys(raw);
  const fields: FieldMappingConfig[] = [];
  let ok = true;
  const leaves = new Set<string>();
  for (const name of names) {
    const path = name.split('.');
    const forbidden = path.find((s) => FORBIDDEN_SEGMENTS.has(s));
    if (forbidden) {
      ok = false;
      fail(['mapping', name], `output field name may not use "${forbidden}": pick another name`, name, 'key');
      continue;
    }
    leaves.add(name);
    const expression = raw[name]!;
    try {
      compileExpression(expression);
    } catch (err) {
      ok = false;
      const e = err as ExpressionSyntaxError;
      failIn(name, errorIndex(e), `JSONata: ${e.message}`, expression);
      continue;
    }
    fields.push({ name, path, expression });
  }
  for (const name of leaves) {
    const parts = name.split('.');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('.');
      if (leaves.has(parent)) {
        ok = false;
        fail(['mapping', name], `"${parent}" is both a field and the parent of "${name}": rename one of them`, name, 'key');
      }
    }
  }
  return ok ? { kind: 'fields', fields } : undefined;
}

/** Reads a file a partner references: a regular file whose real path lies inside the partner's `mappings/<partner>/`. */
function readReferenced(root: string, partner: string, rel: string, fail: (message: string) => void): string | undefined {
  const refused = whyNotContained(root, rel, `mappings/${partner}`);
  if (refused) {
    fail(refused);
    return undefined;
  }
  const path = join(root, rel);
  const size = statSync(path).size;
  if (size > MAX_REFERENCED_FILE_BYTES) {
    fail(`file ${rel} is ${size} bytes; the limit is ${MAX_REFERENCED_FILE_BYTES}`);
    return undefined;
  }
  return readFileSync(path, 'utf8');
}

/** The schema's version, when it declares one (a malformed one was refused by parseSchema). */
function versionOf(schema: Record<string, unknown>): { schemaVersion?: string } {
  const version = schemaVersion(schema).version;
  return version ? { schemaVersion: version.text } : {};
}

function parseSchema(text: string, file: string, problems: ConfigProblem[]): Record<string, unknown> | undefined {
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (err) {
    const match = /position (\d+)/.exec((err as Error).message);
    const pos = positionInText(text, match ? Number(match[1]) + 1 : 1); // JSON positions are 0-based
    problems.push(problem(file, pos.line, pos.column, `not valid JSON: ${(err as Error).message}`));
    return undefined;
  }
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) {
    problems.push(problem(file, 1, 1, 'a JSON Schema must be an object'));
    return undefined;
  }
  // Every pattern the linear-time engine refuses is reported where it is written; a stand-in lets
  // the compilation go on to find the next.
  const refused: LinearRegexError[] = [];
  const collecting = Object.assign(
    (pattern: string, u: string) => {
      try {
        return ajvRegExp(pattern, u);
      } catch (err) {
        if (!(err instanceof LinearRegexError)) throw err;
        refused.push(err);
        return { test: () => true };
      }
    },
    { code: ajvRegExp.code },
  );
  try {
    checkSchema(schema as Record<string, unknown>, collecting as typeof ajvRegExp);
  } catch (err) {
    problems.push(problem(file, 1, 1, `not a valid JSON Schema 2020-12: ${(err as Error).message}`));
    return undefined;
  }
  for (const err of refused) {
    const pos = positionInText(text, patternOffset(text, err.pattern));
    problems.push(problem(file, pos.line, pos.column, err.message, err.pattern));
  }
  if (refused.length > 0) return undefined;
  const version = schemaVersion(schema);
  if (version.problem) {
    const pos = positionInText(text, Math.max(1, text.indexOf('"x-version"') + 1));
    problems.push(problem(file, pos.line, pos.column, version.problem));
    return undefined;
  }
  return schema as Record<string, unknown>;
}

/**
 * The character a JSONata syntax error points at (0-based): the last character of the token it
 * stopped at, or for an error at the end, the last character that is not white space.
 */
function errorIndex(e: ExpressionSyntaxError): number {
  const index = Math.max(0, (e.position ?? 1) - 1);
  if (index < e.expression.trimEnd().length) return index;
  return Math.max(0, e.expression.trimEnd().length - 1);
}

/**
 * 1-based position of a regex pattern in a schema's JSON text: the string that is the value of a
 * `"pattern"` key, or a key itself (of `patternProperties`), and whose decoded value is the pattern.
 */
function patternOffset(text: string, pattern: string): number | undefined {
  for (const m of text.matchAll(/"(?:[^"\\]|\\.)*"/g)) {
    if (JSON.parse(m[0]) !== pattern) continue;
    const before = text.slice(Math.max(0, m.index - 256), m.index).trimEnd();
    const isPatternValue = before.endsWith(':') && before.slice(0, -1).trimEnd().endsWith('"pattern"');
    const isKey = /^\s*:/.test(text.slice(m.index + m[0].length));
    if (isPatternValue || isKey) return m.index + 1;
  }
  return undefined;
}

/** Line and column of a 1-based character position. */
function positionInText(text: string, offset: number | undefined): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, (offset ?? 1) - 1));
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}

function tokenAt(text: string, position: number | undefined): string | undefined {
  if (position === undefined) return undefined;
  return text.slice(Math.max(0, position - 10), position + 10).replace(/\s+/g, ' ');
}

function checkAcrossPartners(loaded: readonly LoadedPartner[], problems: ConfigProblem[]): void {
  const ids = new Map<string, string>();
  for (const { file, partner, doc, lines } of loaded) {
    const other = ids.get(partner.id);
    if (other) {
      const pos = locate(doc, lines, ['id']);
      problems.push(problem(file, pos.line, pos.column, `partner id is already used by ${other}`, partner.id));
    }
    ids.set(partner.id, file);
  }
  // No prefix may be a prefix of another feed's (or equal to it): every key belongs to one feed.
  const all = loaded.flatMap(({ file, doc, lines, prefixes }) => prefixes.map((p) => ({ ...p, file, doc, lines })));
  all.forEach((a, i) => {
    all.forEach((b, j) => {
      if (i === j || !b.prefix.startsWith(a.prefix) || (a.prefix === b.prefix && i > j)) return;
      const pos = locate(a.doc, a.lines, ['feeds', a.index, 'source', 'prefix']);
      const how = a.prefix === b.prefix ? 'is the same as' : 'is a prefix of';
      problems.push(
        problem(
          a.file,
          pos.line,
          pos.column,
          `source prefix of ${a.feed} ${how} the prefix of ${b.feed} (${b.prefix}); a key must belong to exactly one feed`,
          a.prefix,
        ),
      );
    });
  });
}

/** Every folder under mappings/ belongs to a partner, and every samples/ folder to one of its feeds. */
function checkMappingsFolder(
  root: string,
  partnerFiles: readonly string[],
  partners: readonly PartnerConfig[],
  problems: ConfigProblem[],
): void {
  const dir = join(root, 'mappings');
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).sort()) {
    const partner = partners.find((p) => p.id === name);
    const rel = relative(root, join(dir, name));
    if (!lstatSync(join(dir, name)).isDirectory()) continue;
    if (!partnerFiles.includes(name)) {
      problems.push({
        severity: 'warning',
        file: rel,
        line: 1,
        column: 1,
        message: 'no partner file partners/' + name + '.yaml uses this folder',
      });
      continue;
    }
    if (!partner) continue; // its partner file has errors of its own
    for (const entry of readdirSync(join(dir, name)).sort()) {
      if (!lstatSync(join(dir, name, entry)).isDirectory()) continue;
      if (!partner.feeds.some((f) => f.id === entry)) {
        problems.push({
          severity: 'warning',
          file: `${rel}/${entry}`,
          line: 1,
          column: 1,
          message: `partner ${name} has no feed "${entry}"; its samples are not run`,
        });
      }
    }
  }
}

const PATTERN_HINTS: Record<string, string> = {
  id: 'lowercase letters, digits and "-", starting with a letter',
  prefix: 'a key prefix of letters, digits and !_.\'()=- segments, ending in "/" (e.g. acme/orders/)',
  dataset: 'lowercase letters, digits, "_" and "-", starting with a letter',
  schema: 'a .json file name in mappings/<partner>/',
  mappingFile: 'a .jsonata file name in mappings/<partner>/',
  owner: 'an e-mail address',
};

function describeShapeError(file: string, doc: Document, lines: LineCounter, err: ErrorObject): ConfigProblem {
  const path: (string | number)[] = err.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  const name = path.length
    ? path
        .map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`))
        .join('')
        .slice(1)
    : 'the file';
  const last = path[path.length - 1];
  if (err.keyword === 'additionalProperties') {
    const key = (err.params as { additionalProperty: string }).additionalProperty;
    const allowed = Object.keys((err.parentSchema as { properties?: object })?.properties ?? {});
    const pos = locate(doc, lines, [...path, key], 'key');
    const hint = allowed.length ? `; allowed here: ${allowed.join(', ')}` : '';
    return problem(file, pos.line, pos.column, `unknown key "${key}" in ${name}${hint}`, key);
  }
  if (err.keyword === 'required') {
    const key = (err.params as { missingProperty: string }).missingProperty;
    const pos = locate(doc, lines, path);
    return problem(file, pos.line, pos.column, `${name} is missing required key "${key}"`);
  }
  const pos = locate(doc, lines, path);
  let message = `${name} ${err.message}`;
  if (err.keyword === 'pattern' && typeof last === 'string' && PATTERN_HINTS[last]) message = `${name} must be ${PATTERN_HINTS[last]}`;
  if (err.keyword === 'enum') message = `${name} must be one of ${(err.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  if (err.keyword === 'pattern' && path.includes('mapping'))
    message = `output field name ${JSON.stringify(err.data)} must be dot-separated non-empty names`;
  return problem(file, pos.line, pos.column, message, err.data);
}
