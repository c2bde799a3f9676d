import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(join(REPO, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mjs)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

describe('the repository is self-contained', () => {
  it('resolves every path a source file builds from its own folder inside the repository', () => {
    const files = ['test', 'bench', 'platform', 'lambdas'].flatMap(sources).filter((f) => !f.includes('/test/conformance/'));
    const outside: string[] = [];
    let checked = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:join|resolve)\(\s*import\.meta\.dirname\s*,\s*'([^']*)'/g)) {
        checked++;
        const target = resolve(dirname(file), m[1]!);
        if (relative(REPO, target).startsWith('..')) outside.push(`${relative(REPO, file)}: '${m[1]}' -> ${target}`);
      }
    }
    expect(outside).toEqual([]);
    // the two conformance suites and the sample config are reached this way: the scan looked at something
    expect(checked).toBeGreaterThan(10);
  });

  it('vendors the conformance data with its upstream licences', () => {
    for (const suite of ['jsonata', 'csv-spectrum']) {
      expect(readFileSync(join(REPO, 'test/conformance', suite, 'LICENSE'), 'utf8')).toMatch(/MIT|BSD 2-Clause/);
      expect(readFileSync(join(REPO, 'test/conformance', suite, 'SOURCE'), 'utf8')).toMatch(/[0-9a-f]{40}/);
    }
  });
});
