import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireValidConfig } from '../../platform/config/load-config.js';

const REPO = join(import.meta.dirname, '../..');

/** Runs .ci/no-symlinks in a fresh git repository holding the given links (name -> target), all staged. */
function checkRepository(links: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'partner-etl-repo-'));
  mkdirSync(join(dir, '.ci'));
  copyFileSync(join(REPO, '.ci/no-symlinks'), join(dir, '.ci/no-symlinks'));
  writeFileSync(join(dir, 'README.md'), 'x\n');
  for (const [name, target] of Object.entries(links)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    symlinkSync(target, join(dir, name));
  }
  const git = (...args: string[]) => spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
  git('init', '-q');
  git('add', '-A');
  const r = spawnSync('bash', ['.ci/no-symlinks'], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('.ci/no-symlinks (run by .ci/run and by the pull-request workflow)', () => {
  it('fails a repository that holds a symbolic link, naming it with control characters escaped', () => {
    const r = checkRepository({ 'mappings/acme/orders.schema.json': '/etc/passwd', 'x\u001b[2Jy': '/etc/hosts' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('symbolic link not allowed: mappings/acme/orders.schema.json');
    expect(r.stderr).toContain("symbolic link not allowed: $'x\\E[2Jy'");
    expect(r.stderr).not.toContain('\u001b');
  });

  it('passes a repository without links, this one included', () => {
    expect(checkRepository({}).code).toBe(0);
    expect(spawnSync('bash', ['.ci/no-symlinks'], { cwd: REPO }).status).toBe(0);
  });

  it('runs first in .ci/run and in the workflow', () => {
    expect(readFileSync(join(REPO, '.ci/run'), 'utf8')).toMatch(/cd "\$\(dirname "\$0"\)\/\.\."\nbash \.ci\/no-symlinks\n/);
    expect(readFileSync(join(REPO, '.github/workflows/pull-request.yml'), 'utf8')).toContain('run: bash .ci/no-symlinks');
  });
});

describe('CODEOWNERS', () => {
  const lines = readFileSync(join(REPO, '.github/CODEOWNERS'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => l.trim().split(/\s+/));
  /** The owners of a path: GitHub takes the last matching line. */
  const ownersOf = (path: string) => {
    const match = lines.filter(([pattern]) => pattern === '*' || path.startsWith(pattern!.replace(/^\//, ''))).at(-1);
    return match?.slice(1);
  };

  it('gives platform/, lambdas/, CI and itself to the platform team', () => {
    for (const path of ['platform/cdk/app.ts', 'lambdas/transformer/handler.ts', '.github/CODEOWNERS', '.ci/run', 'package.json']) {
      expect({ path, owners: ownersOf(path) }).toEqual({ path, owners: ['@partner-etl/platform'] });
    }
  });

  it("gives each partner's file and mappings folder to the owner its partner file names, and nothing else", () => {
    const partners = requireValidConfig(REPO).partners;
    for (const p of partners) {
      for (const path of [`partners/${p.id}.yaml`, `mappings/${p.id}/x.schema.json`]) {
        expect({ path, owners: ownersOf(path) }).toEqual({ path, owners: [p.owner] });
      }
    }
    const partnerLines = lines.filter(([pattern]) => /^\/(partners|mappings)\//.test(pattern!));
    expect(partnerLines).toHaveLength(partners.length * 2);
  });
});
