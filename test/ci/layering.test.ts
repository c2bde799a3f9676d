import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '../..');

/**
 * The layering rule of eslint.config.js, shown to fire: probe sources are linted as if they lived at
 * the given paths (nothing is written to the repository), and the findings are compared.
 */
async function layeringFindings(path: string, source: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: REPO });
  const [result] = await eslint.lintText(source, { filePath: join(REPO, path) });
  return result!.messages
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax' || m.fatal)
    .map((m) => `${m.line}: ${m.message}`);
}

const ENGINE = 'lambdas/transformer/engine/probe.ts';
const LAMBDAS = 'lambdas/transformer/probe.ts';

describe('the layering rule (npm run lint, in .ci/run and the GitHub workflow)', () => {
  it.each([
    ['@aws-sdk/client-s3', "import { S3Client } from '@aws-sdk/client-s3';"],
    ['aws-cdk-lib', "import { Stack } from 'aws-cdk-lib';"],
    ['aws-cdk-lib/aws-s3', "import * as s3 from 'aws-cdk-lib/aws-s3';"],
    ['powertools', "import { Logger } from '@aws-lambda-powertools/logger';"],
    ['an adapter', "import { S3ObjectStore } from '../adapters/s3-object-store.js';"],
    ['the ledger', "export { versionRef } from '../ledger/file-ledger.js';"],
    ['platform/', "import type { GoldenCase } from '../../../platform/config/golden.js';"],
    ['platform/ by a dynamic import', "export const load = () => import('../../../platform/config/golden.js');"],
  ])('keeps %s out of the engine', async (_what, source) => {
    const findings = await layeringFindings(ENGINE, `${source}\n`);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatch(/^1: .*(The engine imports nothing of AWS|The engine stands alone|lambdas\/ must not import platform\/)/);
  });

  it.each([
    ['a static import', "import { requireValidConfig } from '../../platform/config/load-config.js';"],
    ['a type import', "import type { RunnerSetup } from '../../platform/local/chaos-runner.js';"],
    ['a re-export', "export * from '../../platform/config/golden.js';"],
    ['a dynamic import', "export const load = () => import('../../platform/config/golden.js');"],
  ])('keeps platform/ out of lambdas/: %s', async (_what, source) => {
    expect(await layeringFindings(LAMBDAS, `${source}\n`)).toEqual([
      expect.stringMatching(/^1: .*lambdas\/ must not import platform\/ \(imports point one way\)/),
    ]);
  });

  it('lets lambdas/ use the AWS SDK outside the engine, and platform/ import lambdas/', async () => {
    expect(await layeringFindings(LAMBDAS, "import { S3Client } from '@aws-sdk/client-s3';\nexport { S3Client };\n")).toEqual([]);
    expect(
      await layeringFindings('platform/local/probe.ts', "export { processObject } from '../../lambdas/transformer/process-object.js';\n"),
    ).toEqual([]);
  });

  it('runs in CI: .ci/run lints, and the pull-request workflow runs .ci/run', () => {
    expect(readFileSync(join(REPO, '.ci/run'), 'utf8')).toMatch(/^npm run lint$/m);
    expect(readFileSync(join(REPO, '.github/workflows/pull-request.yml'), 'utf8')).toMatch(/^\s+- run: bash \.ci\/run$/m);
    expect(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).scripts.lint).toMatch(/^eslint \. && prettier --check /);
  });
});
