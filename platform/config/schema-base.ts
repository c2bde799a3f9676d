import { spawnSync } from 'node:child_process';
import { relative } from 'node:path';
import type { PlatformConfig } from '../../lambdas/transformer/model.js';
import { classifySchemaChanges, missingBump, schemaVersion, type SchemaChange } from './schema-compat.js';

export interface SchemaVerdict {
  /** The schema file, relative to the config root. */
  readonly file: string;
  readonly feed: string;
  readonly baseVersion?: string;
  readonly headVersion?: string;
  readonly changes: readonly SchemaChange[];
  /** Why the change is refused; absent when it is fine. */
  readonly problem?: string;
  /** A note that does not fail (a new schema, a schema without a version that did not change). */
  readonly note?: string;
}

/** A git ref as given on the command line: no option, no range, no control character. */
const REF = /^[A-Za-z0-9._/@{}~^-]{1,200}$/;

/**
 * `validate --base <ref>`: every feed's schema against the same file at the git ref. Throws (a
 * usage error) when the root is not in a git work tree or the ref does not resolve.
 */
export function compareSchemasWithBase(root: string, config: PlatformConfig, ref: string): SchemaVerdict[] {
  if (!REF.test(ref) || ref.startsWith('-')) throw new Error(`--base must be a git ref such as origin/main (${JSON.stringify(ref)})`);
  const top = git(root, ['rev-parse', '--show-toplevel']);
  if (top.status !== 0) throw new Error(`--base needs the config root in a git work tree: ${top.stderr.trim()}`);
  const resolved = git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  if (resolved.status !== 0) throw new Error(`--base ${ref} is not a commit in this repository (for origin/main: git fetch origin main)`);
  const commit = resolved.stdout.trim();
  const toplevel = top.stdout.trim();

  const verdicts: SchemaVerdict[] = [];
  for (const partner of config.partners) {
    for (const feed of partner.feeds) {
      const file = `mappings/${partner.id}/${feed.schemaFile}`;
      const fromTop = relative(toplevel, `${root}/${file}`).split('\\').join('/');
      const head = schemaVersion(feed.schema);
      const shown = git(root, ['show', `${commit}:${fromTop}`]);
      const id = `${partner.id}/${feed.id}`;
      if (head.problem) {
        verdicts.push({ file, feed: id, changes: [], problem: head.problem });
        continue;
      }
      if (shown.status !== 0) {
        verdicts.push({
          file,
          feed: id,
          changes: [],
          ...(head.version
            ? { headVersion: head.version.text, note: `new at ${ref}` }
            : { problem: 'a new schema needs a version: add "x-version": "1.0.0"' }),
        });
        continue;
      }
      let baseSchema: unknown;
      try {
        baseSchema = JSON.parse(shown.stdout);
      } catch {
        verdicts.push({ file, feed: id, changes: [], note: `not JSON at ${ref}: not compared` });
        continue;
      }
      const base = schemaVersion(baseSchema);
      const changes = classifySchemaChanges(baseSchema, feed.schema);
      const versions = {
        ...(base.version ? { baseVersion: base.version.text } : {}),
        ...(head.version ? { headVersion: head.version.text } : {}),
      };
      if (!head.version) {
        verdicts.push({
          file,
          feed: id,
          changes,
          ...versions,
          ...(changes.length > 0 ? { problem: 'a changed schema needs a version: add "x-version"' } : { note: 'no version' }),
        });
        continue;
      }
      if (!base.version) {
        verdicts.push({ file, feed: id, changes, ...versions, note: `first version (none at ${ref})` });
        continue;
      }
      const problem = missingBump(base.version, head.version, changes);
      verdicts.push({ file, feed: id, changes, ...versions, ...(problem ? { problem } : {}) });
    }
  }
  return verdicts;
}

function git(cwd: string, args: string[]) {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, timeout: 30_000 });
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}
