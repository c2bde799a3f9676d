/**
 * `npm run lint:cfn`: cfn-lint on the template of every stage, synthesised as `cdk synth` does.
 * Errors and warnings both fail: a warning is either fixed in the construct or acknowledged on its
 * resource (`Metadata: cfn-lint: config: ignore_checks`) with the reason in a comment beside it;
 * the acknowledgements are listed. Without cfn-lint on PATH it says so and exits 2.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Template } from './emulator-gaps.js';
import { synthesiseStage } from './synth.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const STAGES = ['dev', 'prod'] as const;

function main(): number {
  const version = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) {
    process.stderr.write('cfn-lint NOT RUN: cfn-lint is not on PATH; install it with pip install cfn-lint\n');
    return 2;
  }
  const root = process.env.PARTNER_ETL_ROOT ?? REPO_ROOT;
  const outdir = mkdtempSync(join(tmpdir(), 'partner-etl-cfn-lint-'));
  try {
    const templates = STAGES.map((stage) => synthesiseStage({ root, stage, outdir: join(outdir, stage) }).templateFile);
    const result = spawnSync('cfn-lint', ['--format', 'parseable', '--', ...templates], { encoding: 'utf8' });
    const findings = result.stdout.split('\n').filter((line) => line.trim() !== '');
    for (const line of findings) process.stdout.write(`${line.replace(outdir, '<synth>')}\n`);
    const acknowledged = templates.flatMap((file) => {
      const template = JSON.parse(readFileSync(file, 'utf8')) as Template;
      return Object.entries(template.Resources).flatMap(([id, r]) => {
        const checks = (r.Metadata?.['cfn-lint'] as { config?: { ignore_checks?: string[] } } | undefined)?.config?.ignore_checks ?? [];
        return checks.map((check) => `${check} on ${id}`);
      });
    });
    const unique = [...new Set(acknowledged)];
    process.stdout.write(
      `cfn-lint ${version.stdout.trim().replace(/^cfn-lint /, '')}: ${STAGES.length} stages (${STAGES.join(', ')}), ` +
        `${findings.length} findings; acknowledged: ${unique.join(', ') || 'none'}\n`,
    );
    if (result.status !== 0 && findings.length === 0) process.stderr.write(result.stderr);
    return result.status === 0 && findings.length === 0 ? 0 : 1;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

process.exitCode = main();
