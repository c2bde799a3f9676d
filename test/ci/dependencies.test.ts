import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** What runs against real files: the Lambda handler and the CLI (its entry script and every command). */
const RUNTIME_ENTRIES = ['lambdas/transformer/handler.ts', 'platform/cli/partner-etl.mjs', 'platform/cli/main.ts'];
/** Imported at run time but optional there: without it the CLI runs its sources through tsx. */
const OPTIONAL_AT_RUN_TIME = ['esbuild'];
/** Imported lazily by the local platform only (`partner-etl dev`, the tests); without them it says what to install. */
const DEVELOPMENT_EMULATORS = ['fauxqs', 'dynalite'];

/** The packages the entries import, statically or through a literal import(), from the bundle graph. */
async function packagesImportedBy(entries: string[]): Promise<string[]> {
  const result = await build({
    entryPoints: entries.map((e) => join(REPO, e)),
    bundle: true,
    write: false,
    outdir: join(REPO, '.build/deps-probe'),
    platform: 'node',
    format: 'esm',
    packages: 'external',
    metafile: true,
    logLevel: 'silent',
  });
  const builtins = new Set(builtinModules);
  const names = new Set<string>();
  for (const input of Object.values(result.metafile.inputs)) {
    for (const imported of input.imports) {
      if (!imported.external || /^(node:|\.|\/)/.test(imported.path) || builtins.has(imported.path)) continue;
      const parts = imported.path.split('/');
      names.add(imported.path.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
    }
  }
  return [...names].sort();
}

describe('dependencies: what runs in production, and nothing else', () => {
  it('are exactly the packages the Lambda and the CLI import (tsx: the CLI without esbuild)', async () => {
    const imported = (await packagesImportedBy(RUNTIME_ENTRIES)).filter((p) => !OPTIONAL_AT_RUN_TIME.includes(p));
    expect(Object.keys(pkg.dependencies).sort()).toEqual(imported);
    for (const optional of OPTIONAL_AT_RUN_TIME) expect(pkg.devDependencies).toHaveProperty(optional);
  }, 60_000);

  it('leave the emulators, the CDK and the test tools to devDependencies', () => {
    for (const dev of [...DEVELOPMENT_EMULATORS, 'aws-cdk-lib', 'constructs', 'aws-cdk', 'vitest', 'eslint', 'typescript']) {
      expect(pkg.dependencies, dev).not.toHaveProperty(dev);
      expect(pkg.devDependencies, dev).toHaveProperty(dev);
    }
  });
});

describe('engines: npm ci warns on no Node version the project allows', () => {
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
  };

  it('allows the Node running this suite', () => {
    expect(semver.satisfies(process.version, pkg.engines.node), `${process.version} vs ${pkg.engines.node}`).toBe(true);
  });

  it('allows only Node versions every locked package accepts (fauxqs → fastify → cookie@2 wanted Node 22)', () => {
    const narrower: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const wanted = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (path === '' || !wanted) continue;
      if (!semver.subset(pkg.engines.node, wanted)) narrower.push(`${path}@${entry.version}: node ${wanted}`);
    }
    expect(narrower, `engines.node is ${pkg.engines.node}`).toEqual([]);
  });
});
