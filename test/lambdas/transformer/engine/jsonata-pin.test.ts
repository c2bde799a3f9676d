import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '../../../..');
const pinned = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).dependencies.jsonata as string;
const installed = JSON.parse(readFileSync(join(REPO, 'node_modules/jsonata/package.json'), 'utf8')).version as string;
/** The syntax trees jsonata gave when the compiler was written against it, one per construct it reads. */
const recorded = JSON.parse(readFileSync(join(import.meta.dirname, 'jsonata-ast.json'), 'utf8')) as {
  jsonata: string;
  trees: Record<string, unknown>;
};

const LOUDLY =
  'jsonata parses this differently from the version the compiler was written against. compile-jsonata.ts, ' +
  'column-reads.ts and required-fields.ts read this syntax tree: review them against the new shape, run the ' +
  'conformance suite (test/conformance/jsonata at the same version), and only then record the new trees in ' +
  'jsonata-ast.json and the new exact version in package.json.';

describe('jsonata, pinned: the compiler depends on its internal syntax tree', () => {
  it('is pinned to one exact version, the one installed, the one the trees and the conformance suite were taken from', () => {
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(installed).toBe(pinned);
    expect(recorded.jsonata).toBe(pinned);
    expect(readFileSync(join(REPO, 'test/conformance/jsonata/SOURCE'), 'utf8')).toContain(`(v${pinned})`);
  });

  for (const [expression, tree] of Object.entries(recorded.trees)) {
    it(`parses ${expression} to the recorded tree`, () => {
      // JSON on both sides: a regex literal's RegExp is checked on its own below
      expect(JSON.parse(JSON.stringify(jsonata(expression).ast())), LOUDLY).toEqual(tree);
    });
  }

  it('keeps a regex literal as a RegExp on a regex node', () => {
    const ast = jsonata('$contains(a, /^A.+z$/i)').ast() as unknown as { arguments: { type: string; value: RegExp }[] };
    expect(ast.arguments[1]!.type, LOUDLY).toBe('regex');
    expect(ast.arguments[1]!.value, LOUDLY).toBeInstanceOf(RegExp);
    expect([ast.arguments[1]!.value.source, ast.arguments[1]!.value.flags], LOUDLY).toEqual(['^A.+z$', 'gi']);
  });
});
