/**
 * The typed feed model the engine runs on. Partner YAML is read and validated into these objects by
 * `platform/config`; the Lambda receives them, already validated, in a bundle built at synth time.
 * Nothing here reads files or knows about YAML or AWS.
 */
import type { ScheduleConfig } from './schedule.js';

/** Encodings a feed may declare. A byte-order mark in the file always wins over the declaration. */
export const ENCODINGS = ['utf-8', 'utf-16le', 'utf-16be', 'latin1', 'windows-1252'] as const;
export type Encoding = (typeof ENCODINGS)[number];

/** How to read one feed's CSV files. */
export interface CsvConfig {
  readonly delimiter: string;
  /** Quote character; the empty string turns quoting off. */
  readonly quote: string;
  /** Escape character inside quoted fields; equal to `quote` for the RFC 4180 doubled quote. */
  readonly escape: string;
  readonly encoding: Encoding;
  readonly header: boolean;
  /** With `header: false`, the column names; with `header: true`, the columns the header must contain. */
  readonly columns?: readonly string[];
  /**
   * Columns the mapping may read that a file may lack (header files only). Every other column the
   * mapping reads must be in the header, or the file fails with MISSING_COLUMNS.
   */
  readonly optionalColumns?: readonly string[];
  readonly skipLines: number;
  readonly trim: boolean;
  readonly nullValues: readonly string[];
}

/** One output field of a field-by-field mapping: `customer.email: $lowercase(email)`. */
export interface FieldMappingConfig {
  /** The output name as written, dots included. */
  readonly name: string;
  /** The name split on dots: where the value goes in the output object. */
  readonly path: readonly string[];
  readonly expression: string;
}

export type MappingConfig =
  | { readonly kind: 'fields'; readonly fields: readonly FieldMappingConfig[] }
  | { readonly kind: 'expression'; readonly file: string; readonly expression: string };

export type OutputFormat = 'ndjson' | 'json';

/** One feed of one partner, with every default applied. */
export interface FeedConfig {
  readonly partner: string;
  readonly id: string;
  readonly description?: string;
  readonly source: { readonly prefix: string; readonly suffix: string };
  readonly csv: CsvConfig;
  readonly mapping: MappingConfig;
  /** The schema file name, relative to `mappings/<partner>/`. */
  readonly schemaFile: string;
  /** The JSON Schema (2020-12) of one output record. */
  readonly schema: Record<string, unknown>;
  /**
   * The output contract's semver (the schema's `x-version` or `$id` suffix): its major is in the
   * output key (`v=2/`) and the manifest, the full version in the manifest and the event.
   */
  readonly schemaVersion?: string;
  /** `mask`: the `pii` output fields are masked in the output too (absent: only in the rejects). */
  readonly output: { readonly dataset: string; readonly format: OutputFormat; readonly mask?: boolean };
  /**
   * Personal data: output fields (dotted) or CSV columns. Their values are masked in the rejects
   * object (the raw row and the message), and in the output when `output.mask` is set.
   */
  readonly pii?: readonly string[];
  readonly errors: { readonly maxRejectedPercent: number };
  readonly maxFileMiB: number;
  readonly concurrency: number;
  /** Files above `aboveMiB` run as chunks of about `chunkMiB` (Step Functions Distributed Map). */
  readonly split?: SplitConfig;
  /** When a file is expected: a feed whose deadline passes with no file is overdue (schedule.ts). */
  readonly schedule?: ScheduleConfig;
}

export interface SplitConfig {
  readonly aboveMiB: number;
  readonly chunkMiB: number;
}

/** Whether a file of this size runs split (the feed allows it and the file is above its threshold). */
export function runsSplit(feed: FeedConfig, sizeBytes: number): boolean {
  return feed.split !== undefined && sizeBytes > feed.split.aboveMiB * 1024 * 1024 && sizeBytes <= feed.maxFileMiB * 1024 * 1024;
}

/** Who may upload a partner's files (`access` in the partner file). */
export interface PartnerAccessConfig {
  /** AWS account ids or IAM role ARNs that may assume the partner's write-only upload role. */
  readonly iamPrincipals?: readonly string[];
  /** An SFTP user (AWS Transfer Family) with these SSH public keys, home in the partner's prefix. */
  readonly sftp?: { readonly publicKeys: readonly string[] };
}

export interface PartnerConfig {
  readonly id: string;
  readonly name: string;
  readonly owner: string;
  readonly access?: PartnerAccessConfig;
  readonly feeds: readonly FeedConfig[];
}

/** Every partner, as the CDK app, the Lambda and the CLI take them. */
export interface PlatformConfig {
  readonly partners: readonly PartnerConfig[];
}

/** All feeds of all partners, in partner then feed order. */
export function listFeeds(config: PlatformConfig): FeedConfig[] {
  return config.partners.flatMap((p) => p.feeds);
}

/** The feed a `partner/feed` name refers to, if any. */
export function findFeed(config: PlatformConfig, name: string): FeedConfig | undefined {
  const [partner, feed] = name.split('/');
  return config.partners.find((p) => p.id === partner)?.feeds.find((f) => f.id === feed);
}

/** The feed whose source prefix and suffix match an object key; prefixes never overlap. */
export function resolveFeed(config: PlatformConfig, key: string): FeedConfig | undefined {
  return listFeeds(config).find((f) => key.startsWith(f.source.prefix) && key.endsWith(f.source.suffix));
}
