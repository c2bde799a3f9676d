import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
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
    expect(config.test?.include).toEqual(['test/**/*.test.ts']);
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
