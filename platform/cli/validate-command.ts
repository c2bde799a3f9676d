import { findGoldenCases, runGoldenCase, sampleKey } from '../config/golden.js';
import { loadPlatformConfig } from '../config/load-config.js';
import { formatProblem } from '../config/problems.js';
import { safeWriter } from './terminal.js';

/**
 * `partner-etl validate`: every partner file, expression and schema, then every golden sample.
 * Lists all problems, not just the first. Exit 0 when all is well (warnings allowed), 1 otherwise.
 */
export async function runValidateCommand(options: { root: string }): Promise<number> {
  const out = safeWriter(process.stdout);
  const { config, problems } = loadPlatformConfig(options.root, { checkSamples: true });
  for (const p of problems) out.write(`${formatProblem(p)}\n`);
  const errors = problems.filter((p) => p.severity === 'error').length;

  let failedSamples = 0;
  const cases = findGoldenCases(options.root, config);
  for (const c of cases) {
    const result = await runGoldenCase(options.root, c);
    const o = result.outcome;
    const counts = `${o.rowsIn} in, ${o.rowsOut} out, ${o.rowsRejected} rejected`;
    if (result.differences.length === 0) {
      out.write(`ok   ${c.csv} -> ${o.status} (${counts})\n`);
    } else {
      failedSamples++;
      out.write(`FAIL ${c.csv} as ${sampleKey(c)} -> ${o.status} (${counts})\n`);
      for (const d of result.differences) out.write(`     ${d}\n`);
    }
  }
  const feeds = config.partners.reduce((n, p) => n + p.feeds.length, 0);
  out.write(
    `\n${config.partners.length} partners, ${feeds} feeds, ${cases.length} samples: ` +
      `${errors} config error${errors === 1 ? '' : 's'}, ${failedSamples} failing sample${failedSamples === 1 ? '' : 's'}\n`,
  );
  return errors > 0 || failedSamples > 0 ? 1 : 0;
}
