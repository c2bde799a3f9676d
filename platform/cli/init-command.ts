import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { findFeed, type FeedConfig } from '../../lambdas/transformer/model.js';
import type { FileOutcome } from '../../lambdas/transformer/engine/outcome.js';
import { lineDiff } from '../config/golden-diff.js';
import { loadPlatformConfig } from '../config/load-config.js';
import { formatProblem } from '../config/problems.js';
import partnerSchema from '../config/partner.schema.json' with { type: 'json' };
import { describeDraft, draftFeed, formatJson, renderPartnerFile, type FeedDraft } from '../onboarding/draft-feed.js';
import { runInMemory } from '../onboarding/run-in-memory.js';
import { decodeSample, SniffError } from '../onboarding/sniff.js';
import { safeWriter, type SafeWriter } from './terminal.js';

export interface InitOptions {
  readonly root: string;
  /** `partner/feed`. */
  readonly target: string;
  readonly sample: string;
  /** Rows in the golden sample. */
  readonly rows: number;
  /** Write the files; without it they are only shown. */
  readonly yes: boolean;
  /** For a new partner file. */
  readonly name?: string;
  readonly owner?: string;
}

/** Largest sample read: a sample is a file a person looks at, not a month of data. */
const MAX_SAMPLE_BYTES = 64 * 1024 * 1024;
const PARTNER_ID = new RegExp(partnerSchema.properties.id.pattern);
const FEED_ID = new RegExp(partnerSchema.definitions.feed.properties.id.pattern);
const OWNER = new RegExp(partnerSchema.properties.owner.pattern);

/** One file `init` writes: its path under the root, what it holds now (if anything) and what it will hold. */
export interface PlannedFile {
  readonly file: string;
  readonly before?: Buffer;
  readonly after: Buffer;
  /** How to show it: as text (the YAML, the schema, the records) or decoded from the sample's encoding. */
  readonly shown: string;
}

/** Why `init` stops: a usage mistake (exit 2) or a sample it cannot draft a feed from (exit 1). */
export class InitError extends Error {
  override readonly name = 'InitError';
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

/** What `init` found and the files it would write. */
export interface InitPlan {
  readonly partner: string;
  readonly feed: string;
  readonly draft: FeedDraft;
  /** The whole sample through the drafted feed: zero rejects. */
  readonly outcome: FileOutcome;
  readonly files: readonly PlannedFile[];
}

/**
 * `partner-etl init <partner>/<feed> SAMPLE`: drafts a feed from a partner's sample file (the
 * partner file or a feed added to it, the schema, and a golden sample with the engine's output),
 * checks the draft with the config loader and runs the whole sample through the engine with zero
 * rejects, then prints every file as a diff. `--yes` writes them. Exit 0 drafted (or written),
 * 1 the sample cannot be drafted, 2 usage.
 */
export async function runInitCommand(options: InitOptions): Promise<number> {
  const out = safeWriter(process.stdout);
  let plan: InitPlan;
  try {
    plan = await planInit(options);
  } catch (e) {
    if (e instanceof InitError) {
      safeWriter(process.stderr).write(`partner-etl: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
  const { draft, files, outcome } = plan;
  out.write(`${plan.partner}/${plan.feed} from ${options.sample}:\n`);
  for (const line of describeDraft(draft)) out.write(`  ${line}\n`);
  out.write(
    `  the whole sample: ${outcome.rowsIn} rows in, ${outcome.rowsOut} out, ${outcome.rowsRejected} rejected; ` +
      `golden sample: the first ${draft.goldenRowCount} rows\n\n`,
  );
  for (const f of files) printDiff(out, f);
  if (!options.yes) {
    out.write(`\nnothing written: run again with --yes to write these ${files.length} files\n`);
    return 0;
  }
  writeInit(options.root, plan);
  out.write(
    `\nwrote ${files.length} files; next: npx partner-etl validate${options.root === process.cwd() ? '' : ` --root ${options.root}`}\n`,
  );
  return 0;
}

/** Checks the request, drafts the feed and plans its files; throws `InitError`. */
export async function planInit(options: InitOptions): Promise<InitPlan> {
  const [partner, feedId, extra] = options.target.split('/');
  if (!partner || !feedId || extra !== undefined || !PARTNER_ID.test(partner) || !FEED_ID.test(feedId)) {
    throw new InitError(
      `${JSON.stringify(options.target)} is not <partner>/<feed> (partner ${partnerSchema.properties.id.pattern}, feed ${partnerSchema.definitions.feed.properties.id.pattern})`,
      2,
    );
  }
  if (!existsSync(options.sample) || !statSync(options.sample).isFile()) throw new InitError(`${options.sample}: no such file`, 2);
  const size = statSync(options.sample).size;
  if (size > MAX_SAMPLE_BYTES) {
    throw new InitError(
      `${options.sample} is ${size} bytes; give init a sample of at most ${MAX_SAMPLE_BYTES} bytes (its first rows are enough)`,
      2,
    );
  }
  if (size === 0) throw new InitError(`${options.sample} is empty`, 1);
  const partnerFile = `partners/${partner}.yaml`;
  const existing = existsSync(join(options.root, partnerFile)) ? readFileSync(join(options.root, partnerFile), 'utf8') : undefined;
  if (existing === undefined && (!options.owner || !OWNER.test(options.owner))) {
    throw new InitError(
      `${partnerFile} is new: give --owner EMAIL (who is alerted about this partner's files) and --name "Display Name"`,
      2,
    );
  }
  if (existing !== undefined && feedIds(existing).includes(feedId)) {
    throw new InitError(`${partnerFile} already has a feed "${feedId}"; init drafts new feeds only`, 2);
  }
  const meta = { name: options.name ?? partner, owner: options.owner ?? '' };
  let drafted: Drafted;
  try {
    drafted = await draftAndCheck(options, partner, feedId, existing, meta, readFileSync(options.sample));
  } catch (e) {
    if (e instanceof SniffError) throw new InitError(`${options.sample}: ${e.message}`, 1);
    throw e;
  }
  const clashes = drafted.files.filter((f) => f.before !== undefined && f.file !== partnerFile);
  if (clashes.length > 0)
    throw new InitError(
      `${clashes.map((f) => f.file).join(', ')} already exist${clashes.length === 1 ? 's' : ''}; init does not overwrite`,
      2,
    );
  return { partner, feed: feedId, ...drafted };
}

interface Drafted {
  readonly draft: FeedDraft;
  readonly files: readonly PlannedFile[];
  readonly outcome: FileOutcome;
}

/**
 * Drafts the feed, loads it with the real config loader in a scratch copy of the partner's files,
 * and runs the whole sample through the engine. A column whose drafted type rejects a row is
 * drafted again as text, until the sample transforms with no reject.
 */
async function draftAndCheck(
  options: InitOptions,
  partner: string,
  feedId: string,
  existing: string | undefined,
  meta: { name: string; owner: string },
  bytes: Buffer,
): Promise<Drafted> {
  const textColumns = new Set<string>();
  for (;;) {
    const draft = draftFeed({ partner, feed: feedId, sampleName: basename(options.sample), bytes, goldenRows: options.rows, textColumns });
    const partnerText = renderPartnerFile(existing, partner, feedId, meta, draft);
    const schemaText = `${formatJson(draft.schema)}\n`;
    const feed = loadDraft(options.root, partner, feedId, partnerText, schemaText);
    const full = await runInMemory(feed, bytes, `${feed.source.prefix}${basename(options.sample)}`);
    const retype = full.rejects.flatMap((r) => {
      const column = draft.columns.find((c) => r.field === `/${c.output}`);
      return column && !textColumns.has(column.column) ? [column.column] : [];
    });
    if (full.outcome.status === 'FAILED' && full.outcome.rowsRejected === 0) {
      throw new InitError(
        `${options.sample}: the drafted feed fails the sample: ${full.outcome.errors.map((e) => `${e.code}: ${e.message}`).join('; ')}`,
        1,
      );
    }
    if (full.rejects.length > 0 && retype.length === 0) {
      const first = full.rejects[0]!;
      throw new InitError(
        `${options.sample}: ${full.rejects.length} rows cannot be read as they are, e.g. line ${first.line}: ${first.message} [${first.code}]; fix the sample or write the feed by hand`,
        1,
      );
    }
    if (retype.length > 0) {
      for (const c of retype) textColumns.add(c);
      continue;
    }
    const golden = await runInMemory(feed, draft.goldenCsv, `${feed.source.prefix}${draft.goldenName}${draft.suffix}`);
    const samples = `mappings/${partner}/${feedId}/samples`;
    const read = (file: string) => (existsSync(join(options.root, file)) ? readFileSync(join(options.root, file)) : undefined);
    const planned = (file: string, after: Buffer, shown: string): PlannedFile => {
      const before = read(file);
      return before === undefined ? { file, after, shown } : { file, before, after, shown };
    };
    const files = [
      planned(`partners/${partner}.yaml`, Buffer.from(partnerText), partnerText),
      planned(`mappings/${partner}/${feedId}.schema.json`, Buffer.from(schemaText), schemaText),
      planned(`${samples}/${draft.goldenName}.csv`, draft.goldenCsv, decodeForShow(draft.goldenCsv, draft)),
      planned(`${samples}/${draft.goldenName}.expected.ndjson`, golden.output, golden.output.toString('utf8')),
    ];
    return { draft, files, outcome: full.outcome };
  }
}

/** The feed as the config loader reads it, from a scratch root holding the partner files and this partner's mapping files. */
function loadDraft(root: string, partner: string, feedId: string, partnerText: string, schemaText: string): FeedConfig {
  const scratch = mkdtempSync(join(tmpdir(), 'partner-etl-init-'));
  try {
    mkdirSync(join(scratch, 'partners'));
    if (existsSync(join(root, 'partners'))) {
      for (const name of readdirSync(join(root, 'partners'))) {
        if (name.endsWith('.yaml') && statSync(join(root, 'partners', name)).isFile())
          copyFileSync(join(root, 'partners', name), join(scratch, 'partners', name));
      }
    }
    const mappings = join(root, 'mappings', partner);
    mkdirSync(join(scratch, 'mappings', partner), { recursive: true });
    if (existsSync(mappings)) {
      for (const name of readdirSync(mappings)) {
        const path = join(mappings, name);
        if (lstatSync(path).isFile()) copyFileSync(path, join(scratch, 'mappings', partner, name));
      }
    }
    writeFileSync(join(scratch, 'partners', `${partner}.yaml`), partnerText);
    writeFileSync(join(scratch, 'mappings', partner, `${feedId}.schema.json`), schemaText);
    const { config, problems } = loadPlatformConfig(scratch);
    const mine = problems.filter(
      (p) => p.severity === 'error' && (p.file === `partners/${partner}.yaml` || p.file.startsWith(`mappings/${partner}/`)),
    );
    if (mine.length > 0) throw new InitError(`the drafted config does not load:\n${mine.map(formatProblem).join('\n')}`, 1);
    const feed = findFeed(config, `${partner}/${feedId}`);
    if (!feed) throw new InitError('the drafted feed did not load', 1);
    return feed;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The golden CSV as text for the diff (it keeps the partner's encoding on disk). */
function decodeForShow(csv: Buffer, draft: FeedDraft): string {
  return decodeSample(csv, draft.encoding);
}

function printDiff(out: SafeWriter, f: PlannedFile): void {
  const before = f.before === undefined ? '' : f.before.toString('utf8');
  out.write(`--- ${f.before === undefined ? '/dev/null' : f.file}\n+++ ${f.file}\n`);
  for (const line of lineDiff(before, f.shown)) out.write(`${line}\n`);
}

/** Writes the new files (never replacing one) and the partner file (through a temporary file); never through a symbolic link. */
export function writeInit(root: string, plan: InitPlan): void {
  for (const f of plan.files) {
    const path = join(root, f.file);
    mkdirSync(dirname(path), { recursive: true });
    if (existsSync(path) && lstatSync(path).isSymbolicLink()) throw new Error(`${f.file} is a symbolic link; not written`);
    if (f.before === undefined) {
      writeFileSync(path, f.after, { flag: 'wx' });
    } else {
      const temp = `${path}.${process.pid}.partial`;
      writeFileSync(temp, f.after, { flag: 'wx' });
      renameSync(temp, path);
    }
  }
}

function feedIds(partnerText: string): string[] {
  try {
    const data = parseYaml(partnerText) as { feeds?: { id?: unknown }[] };
    return (data?.feeds ?? []).map((f) => String(f?.id));
  } catch {
    return [];
  }
}
