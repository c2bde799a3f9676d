import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findGoldenCases, runGoldenCase } from '../../../platform/config/golden.js';
import { loadPlatformConfig } from '../../../platform/config/load-config.js';
import { formatProblem } from '../../../platform/config/problems.js';
import { planInit, writeInit } from '../../../platform/cli/init-command.js';
import { describeType } from '../../../platform/onboarding/infer-columns.js';
import { CORPUS_DIR, onboardingCorpus } from '../../support/onboarding-corpus.js';

const corpus = onboardingCorpus();

describe('the onboarding corpus', () => {
  it('has at least 25 files, committed exactly as the generator makes them', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(25);
    for (const file of corpus) expect(readFileSync(join(CORPUS_DIR, file.name)).equals(file.bytes), file.name).toBe(true);
  });

  it('covers every delimiter, encoding, line end and type', () => {
    const seen = (f: (e: (typeof corpus)[number]['expect']) => unknown) => new Set(corpus.map((c) => f(c.expect)));
    expect(seen((e) => e.delimiter)).toEqual(new Set([',', ';', '\t', '|']));
    expect(seen((e) => `${e.encoding}${e.bom ? '+bom' : ''}`)).toEqual(
      new Set(['utf-8', 'utf-8+bom', 'utf-16le', 'utf-16le+bom', 'utf-16be+bom', 'windows-1252']),
    );
    expect(seen((e) => e.lineEnding)).toEqual(new Set(['LF', 'CRLF', 'CR']));
    expect(seen((e) => e.quote ?? '"')).toEqual(new Set(['"', "'", '']));
    expect(seen((e) => e.escape === '\\')).toEqual(new Set([true, false]));
    expect(seen((e) => e.header)).toEqual(new Set([true, false]));
    const types = new Set(corpus.flatMap((c) => Object.values(c.expect.types).map((t) => t.replace(/, required$/, '').replace(/ .*/, ''))));
    for (const t of ['string', 'integer', 'decimal', 'boolean', 'date', 'date-time', 'day-first', 'month-first', 'email', 'enum']) {
      expect(types, t).toContain(t);
    }
    expect(new Set(corpus.flatMap((c) => c.expect.nullValues ?? ['']))).toEqual(new Set(['', 'NULL', 'N/A', '-']));
  });
});

describe('init on every corpus file', () => {
  corpus.forEach((file, i) => {
    it(`${file.name}: ${file.shows}`, async () => {
      const root = mkdtempSync(join(tmpdir(), 'partner-etl-init-'));
      const feed = `f${String(i + 1).padStart(2, '0')}`;
      const plan = await planInit({
        root,
        target: `corpus/${feed}`,
        sample: join(CORPUS_DIR, file.name),
        rows: 5,
        yes: true,
        owner: 'data@example.com',
      });
      const { draft } = plan;
      const e = file.expect;

      // what the sniff found
      expect(draft.encoding.encoding).toBe(e.encoding);
      expect(draft.encoding.bomLength > 0).toBe(e.bom ?? false);
      expect(draft.lineEnding).toBe(e.lineEnding);
      expect(draft.csv.delimiter).toBe(e.delimiter);
      expect(draft.csv.quote).toBe(e.quote ?? '"');
      expect(draft.csv.escape).toBe(e.escape ?? e.quote ?? '"');
      expect(draft.csv.header).toBe(e.header);
      expect(draft.csv.skipLines).toBe(e.skipLines ?? 0);
      expect(draft.csv.trim).toBe(e.trim ?? false);
      expect(draft.csv.nullValues).toEqual(e.nullValues ?? ['']);
      expect(Object.fromEntries(draft.columns.map((c) => [c.column, `${describeType(c.type)}${c.required ? ', required' : ''}`]))).toEqual(
        e.types,
      );
      if (e.outputs)
        expect(Object.fromEntries(draft.columns.filter((c) => c.column in e.outputs!).map((c) => [c.column, c.output]))).toEqual(e.outputs);

      // the whole file transforms with zero rejects
      expect(plan.outcome).toMatchObject({ status: 'SUCCEEDED', rowsRejected: 0 });
      expect(plan.outcome.rowsIn).toBe(draft.layout.rows.length);

      // what it writes, validate accepts: no config problem, every golden sample passes
      writeInit(root, plan);
      const { config, problems } = loadPlatformConfig(root, { checkSamples: true });
      expect(problems.map(formatProblem)).toEqual([]);
      const cases = findGoldenCases(root, config);
      expect(cases).toHaveLength(1);
      const golden = await runGoldenCase(root, cases[0]!);
      expect(golden.differences).toEqual([]);
      expect(golden.outcome.rowsIn).toBe(Math.min(5, draft.layout.rows.length));
    });
  });
});
