/**
 * Partner config is read only from real files inside the repository. A pull request is the way a
 * partner is onboarded, so its files are untrusted input to `validate` (whose output lands in CI
 * logs) and to `synth` (whose bundle ships in the Lambda asset): a schema linked to `/etc/passwd`,
 * a sample linked to `/proc/self/environ` or a mapping linked to a JSON file elsewhere must never be
 * read. Git stores a symbolic link as a link, so the rule is simple: no symbolic link anywhere under
 * `partners/` or `mappings/`, and every file a partner references resolves, after `realpath`,
 * inside that partner's own `mappings/<partner>/`.
 */
import { lstatSync, readdirSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
import { join, sep } from 'node:path';

/** The config folders in which nothing may be a symbolic link. */
export const CONFIG_FOLDERS = ['partners', 'mappings'] as const;
/** Entries a walk visits at most: the config folders are text files, not a data store. */
const MAX_WALKED_ENTRIES = 100_000;

/** A file or folder the config may not hold, relative to the config root, with why. */
export interface ContainmentFinding {
  readonly file: string;
  readonly message: string;
  /** Where a symbolic link points, as written in the link. */
  readonly target?: string;
}

/**
 * Every symbolic link, and every entry that is neither a regular file nor a folder (a FIFO would
 * block a read forever), under `partners/` and `mappings/` of the root, the folders themselves
 * included. Links are not followed.
 */
export function findUncontainedEntries(root: string): ContainmentFinding[] {
  const findings: ContainmentFinding[] = [];
  let walked = 0;
  const visit = (rel: string): void => {
    if (++walked > MAX_WALKED_ENTRIES) throw new Error(`more than ${MAX_WALKED_ENTRIES} entries under ${CONFIG_FOLDERS.join('/ and ')}/`);
    let stats: Stats;
    try {
      stats = lstatSync(join(root, rel));
    } catch {
      return; // removed while walking, or a folder that is not there
    }
    if (stats.isSymbolicLink()) {
      findings.push({
        file: rel,
        message: 'is a symbolic link; partner config must be real files in the repository: replace the link by the file itself',
        target: readlinkSync(join(root, rel)),
      });
    } else if (stats.isDirectory()) {
      for (const name of readdirSync(join(root, rel)).sort()) visit(`${rel}/${name}`);
    } else if (!stats.isFile()) {
      findings.push({ file: rel, message: 'is not a regular file (a device, socket or pipe); partner config must be regular files' });
    }
  };
  for (const folder of CONFIG_FOLDERS) visit(folder);
  return findings;
}

/** Whether anything, a dangling link included, is at the path (`existsSync` follows links). */
export function entryExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why `rel` (relative to the root) may not be read as a file of `within` (a folder relative to the
 * root), or `undefined` when it may: it must exist, be a regular file and not a symbolic link, and
 * its real path must lie inside the real path of `within` (so no folder on the way is a link either).
 */
export function whyNotContained(root: string, rel: string, within: string): string | undefined {
  const path = join(root, rel);
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch {
    return `file ${rel} does not exist`;
  }
  if (stats.isSymbolicLink()) return `file ${rel} is a symbolic link; it is not read`;
  if (!stats.isFile()) return `${rel} is not a regular file; it is not read`;
  // The folder must be where the root says it is (no link on the way), and the file inside it.
  const folder = join(realpathSync(root), within);
  let realFolder: string | undefined;
  try {
    realFolder = realpathSync(join(root, within));
  } catch {
    realFolder = undefined;
  }
  const real = realpathSync(path);
  if (realFolder !== folder || !real.startsWith(folder + sep)) {
    return `file ${rel} resolves outside ${within}/ (through a symbolic link on the way); it is not read`;
  }
  return undefined;
}
