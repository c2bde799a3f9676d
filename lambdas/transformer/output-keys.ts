import type { FeedConfig } from './model.js';

/**
 * Where a feed's outputs and rejects go. The output key is deterministic per object version, so a
 * retry overwrites instead of duplicating:
 * `<dataset>/partner=<p>/feed=<f>/date=<YYYY-MM-DD>/<file>.<version>.ndjson` (`.json` for the json format).
 */
export function outputPrefix(feed: FeedConfig): string {
  return `${feed.output.dataset}/partner=${feed.partner}/feed=${feed.id}/`;
}

/** Rejects and diagnostics live in their own bucket, under `<partner>/<feed>/`. */
export function rejectsPrefix(feed: FeedConfig): string {
  return `${feed.partner}/${feed.id}/`;
}

/** The partner-facing files of a reject report (the CSV to fix, the summary as text and HTML): what a partner may read. */
export const REJECT_REPORT_SUFFIXES = ['.rejects.csv', '.rejects-summary.txt', '.rejects-summary.html'] as const;

export interface OutputKeys {
  /** Output bucket: the records (published only when the file does not fail). */
  readonly output: string;
  /** Output bucket, beside the records: counts, schema, config hash, source version. */
  readonly manifest: string;
  /** Rejects bucket: rejected rows, one JSON object per line. */
  readonly rejects: string;
  /** Rejects bucket: the file's outcome, written for every file, failed or not. */
  readonly summary: string;
  /** Rejects bucket, for a PARTIAL or FAILED file: the rejected rows as the partner sent them, in a CSV to fix and send again. */
  readonly rejectsCsv: string;
  /** Rejects bucket, for a PARTIAL or FAILED file: the one-page summary for the partner, as text and as HTML. */
  readonly reportText: string;
  readonly reportHtml: string;
}

/**
 * The keys of one object version's output, rejects and manifest. `date` is the day the object was
 * created (UTC); `version` is the version ref: the S3 version id, or the write's sequencer when the bucket is not versioned.
 */
export function outputKeys(feed: FeedConfig, sourceKey: string, version: string, date: Date): OutputKeys {
  const day = date.toISOString().slice(0, 10);
  const file = sourceKey.slice(sourceKey.lastIndexOf('/') + 1).replace(/\.[^.]*$/, '') || 'file';
  const safeFile = sanitise(file);
  const safeVersion = sanitise(version);
  const ext = feed.output.format === 'json' ? 'json' : 'ndjson';
  // The contract's major version, when the schema has one: a breaking change writes under a new prefix.
  const major = feed.schemaVersion ? `v=${feed.schemaVersion.split('.')[0]}/` : '';
  const base = `${major}date=${day}/${safeFile}.${safeVersion}`;
  return {
    output: `${outputPrefix(feed)}${base}.${ext}`,
    manifest: `${outputPrefix(feed)}${base}.manifest.json`,
    rejects: `${rejectsPrefix(feed)}${base}.rejects.ndjson`,
    summary: `${rejectsPrefix(feed)}${base}.summary.json`,
    ...rejectReportKeys(`${rejectsPrefix(feed)}${base}.summary.json`),
  };
}

/** The keys of a file's reject report, beside its summary (`<name>.summary.json`). */
export function rejectReportKeys(summaryKey: string): Pick<OutputKeys, 'rejectsCsv' | 'reportText' | 'reportHtml'> {
  const base = summaryKey.slice(0, -'.summary.json'.length);
  const [csv, text, html] = REJECT_REPORT_SUFFIXES;
  return { rejectsCsv: `${base}${csv}`, reportText: `${base}${text}`, reportHtml: `${base}${html}` };
}

/** Keeps keys readable and safe for every consumer: no slashes, no control or exotic characters. */
function sanitise(part: string): string {
  return part.replace(/[^A-Za-z0-9._=-]/g, '_').slice(0, 200);
}

/**
 * The keys of a split file, beside the whole file's: one output part per chunk, numbered from 1 in
 * chunk order (`<file>.<version>.part-00001.ndjson`), listed by the manifest; rejects parts, chunk
 * results and the plan in the rejects bucket (they may hold raw rows).
 */
export interface SplitKeys {
  /** Output bucket: the prefix of every part of this version (for removing them). */
  readonly partsPrefix: string;
  /** Rejects bucket: the prefix of every rejects part, chunk result and the plan of this version. */
  readonly workPrefix: string;
  part(index: number): string;
  rejectsPart(index: number): string;
  result(index: number): string;
  readonly plan: string;
}

export function splitKeys(keys: OutputKeys): SplitKeys {
  const base = keys.manifest.slice(0, -'.manifest.json'.length);
  const ext = keys.output.slice(keys.output.lastIndexOf('.'));
  const rejectsBase = keys.summary.slice(0, -'.summary.json'.length);
  const n = (index: number) => String(index + 1).padStart(5, '0');
  return {
    partsPrefix: `${base}.part-`,
    workPrefix: `${rejectsBase}.split/`,
    part: (index) => `${base}.part-${n(index)}${ext}`,
    rejectsPart: (index) => `${rejectsBase}.split/part-${n(index)}.rejects.ndjson`,
    result: (index) => `${rejectsBase}.split/part-${n(index)}.result.json`,
    plan: `${rejectsBase}.split/plan.json`,
  };
}
