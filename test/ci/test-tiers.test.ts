import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configDefaults } from 'vitest/config';
import { findMotoServer } from '../../platform/rehearsal/moto-server.js';
import config from '../../vitest.config.js';

const REPO = join(import.meta.dirname, '../..');
const scripts = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

function testFiles(dir: string): string[] {
  return readdirSync(join(REPO, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => relative(REPO, join(e.parentPath, e.name)));
}

/** What a module imports by specifier, static or dynamic. */
function importsOf(file: string): string[] {
  const source = readFileSync(join(REPO, file), 'utf8');
  return [...source.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
}

describe('test tiers', () => {
  const unitDirs = scripts['test:unit']!.replace(/^vitest run /, '').split(' ');

  it('npm test runs every test file; npm run test:unit the engine and config tests', () => {
    expect(scripts.test).toBe('vitest run');
    // Two projects: every test file but the deployment rehearsal, then the rehearsal alone (only when
    // moto_server is on PATH; vitest.config.ts says in one line when it is not, and fails under CI).
    const projects = (config.test?.projects ?? []) as { test: { name: string; include: string[]; exclude?: string[] } }[];
    const tests = projects.find((p) => p.test.name === 'tests')!.test;
    expect(tests.include).toEqual(['test/**/*.test.ts']);
    const leftOut = (tests.exclude ?? []).filter((e) => !configDefaults.exclude.includes(e));
    expect(leftOut).toEqual(['test/platform/rehearsal/rehearsal.test.ts']);
    if (findMotoServer()) expect(projects.find((p) => p.test.name === 'rehearsal')?.test.include).toEqual(leftOut);
    expect(unitDirs).toEqual(['test/lambdas/transformer/engine', 'test/platform/config']);
    for (const dir of unitDirs) expect(testFiles(dir).length, dir).toBeGreaterThan(0);
  });

  it('keeps the unit tier off the emulators and the AWS SDK: it needs no service', () => {
    const offending = unitDirs.flatMap(testFiles).flatMap((file) =>
      importsOf(file)
        .filter((s) => /platform\/local|@aws-sdk/.test(s))
        .map((s) => `${file}: ${s}`),
    );
    expect(offending).toEqual([]);
  });
});
