import { applyGoldenChanges, findGoldenCases, goldenChanges, runGoldenCase, sampleKey } from '../config/golden.js';
import { lineDiff } from '../config/golden-diff.js';
import { loadPlatformConfig } from '../config/load-config.js';
import { formatProblem } from '../config/problems.js';
import { compareSchemasWithBase } from '../config/schema-base.js';
import { safeWriter } from './terminal.js';

export interface ValidateOptions {
  readonly root: string;
  /** Write or refresh the expected output of every sample that differs, after showing the diff. */
  readonly update?: boolean;
  /** A git ref: every schema is compared with its version there, and a change must bump its version. */
  readonly base?: string;
}

/**
 * `partner-etl validate`: every partner file, expression and schema, then every golden sample.
 * Lists all problems, not just the first. Exit 0 when all is well (warnings allowed), 1 otherwise.
 * With `update`, a sample whose output differs has its expected files rewritten from the engine's
 * output, each change shown as a diff first; a sample that FAILS is never recorded.
 */
export async function runValidateCommand(options: ValidateOptions): Promise<number> {
  const out = safeWriter(process.stdout);
  const { config, problems } = loadPlatformConfig(options.root, { checkSamples: true });
  for (const p of problems) out.write(`${formatProblem(p)}\n`);
  const errors = problems.filter((p) => p.severity === 'error').length;

  let failedSamples = 0;
  let updatedSamples = 0;
  const cases = findGoldenCases(options.root, config);
  for (const c of cases) {
    const result = await runGoldenCase(options.root, c);
    const o = result.outcome;
    const counts = `${o.rowsIn} in, ${o.rowsOut} out, ${o.rowsRejected} rejected`;
    const changes = options.update ? goldenChanges(options.root, result) : [];
    if (result.differences.length === 0) {
      out.write(`ok   ${c.csv} -> ${o.status} (${counts})\n`);
    } else if (changes.length > 0) {
      updatedSamples++;
      out.write(`upd  ${c.csv} -> ${o.status} (${counts})\n`);
      for (const change of changes) {
        out.write(`--- ${change.before ? change.file : '/dev/null'}\n+++ ${change.after ? change.file : '/dev/null'}\n`);
        for (const line of lineDiff(change.before?.toString('utf8') ?? '', change.after?.toString('utf8') ?? '')) out.write(`${line}\n`);
      }
      applyGoldenChanges(options.root, changes);
    } else {
      failedSamples++;
      out.write(`FAIL ${c.csv} as ${sampleKey(c)} -> ${o.status} (${counts})\n`);
      for (const d of result.differences) out.write(`     ${d}\n`);
      if (options.update && o.status === 'FAILED') out.write('     not updated: a sample must end SUCCEEDED or PARTIAL\n');
    }
  }
  let contractProblems = 0;
  if (options.base !== undefined) {
    let verdicts;
    try {
      verdicts = compareSchemasWithBase(options.root, config, options.base);
    } catch (err) {
      out.write(`${(err as Error).message}\n`);
      return 2;
    }
    out.write(`\noutput contracts against ${options.base}:\n`);
    for (const v of verdicts) {
      const versions = v.baseVersion || v.headVersion ? ` ${v.baseVersion ?? '-'} -> ${v.headVersion ?? '-'}` : '';
      const verdict = v.problem ? 'FAIL' : v.changes.length > 0 ? 'ok  ' : 'same';
      out.write(`${verdict} ${v.file} (${v.feed})${versions}${v.problem ? `: ${v.problem}` : v.note ? `: ${v.note}` : ''}\n`);
      for (const c of v.changes) out.write(`     ${c.kind === 'breaking' ? 'breaking  ' : 'compatible'} ${c.field}: ${c.description}\n`);
      if (v.problem) contractProblems++;
    }
  }
  const feeds = config.partners.reduce((n, p) => n + p.feeds.length, 0);
  const updated = options.update ? `, ${updatedSamples} updated` : '';
  out.write(
    `\n${config.partners.length} partners, ${feeds} feeds, ${cases.length} samples: ` +
      `${errors} config error${errors === 1 ? '' : 's'}, ${failedSamples} failing sample${failedSamples === 1 ? '' : 's'}${updated}` +
      `${options.base !== undefined ? `, ${contractProblems} contract version problem${contractProblems === 1 ? '' : 's'}` : ''}\n`,
  );
  return errors > 0 || failedSamples > 0 || contractProblems > 0 ? 1 : 0;
}
