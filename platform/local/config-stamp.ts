import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_FOLDERS } from '../config/contained-files.js';

/** Entries a stamp visits at most, as the containment walk: the config folders are text files. */
const MAX_ENTRIES = 100_000;

/**
 * A fingerprint of everything under `partners/` and `mappings/` (path, type, size, modification
 * time), cheap enough to take every second: when it changes, the config is loaded again. Links are
 * not followed (`lstat`); loading the config reports them.
 */
export function configStamp(root: string): string {
  const parts: string[] = [];
  const visit = (rel: string): void => {
    if (parts.length > MAX_ENTRIES) return;
    let stats: Stats;
    try {
      stats = lstatSync(join(root, rel));
    } catch {
      return; // removed while walking
    }
    parts.push(`${rel}\u0000${stats.isDirectory() ? 'd' : stats.isFile() ? 'f' : 'o'}\u0000${stats.size}\u0000${stats.mtimeMs}`);
    if (stats.isDirectory()) for (const name of readdirSync(join(root, rel)).sort()) visit(`${rel}/${name}`);
  };
  for (const folder of CONFIG_FOLDERS) visit(folder);
  return parts.join('\n');
}
