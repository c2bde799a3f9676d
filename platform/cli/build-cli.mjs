// The CLI prebuilt with esbuild: the TypeScript sources of platform/ and lambdas/ bundled into ESM
// chunks under .build/, split at the commands' dynamic imports so a command loads only what it uses,
// dependencies left in node_modules. `npm ci` builds it (the `prepare` script); partner-etl.mjs
// rebuilds it when a source changed since, and runs the sources through tsx where esbuild is absent
// (an install without devDependencies). Plain JavaScript: it runs before anything is compiled.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD = join(REPO, '.build');

/** A digest of every source file's path, size and modification time: the build's name. */
export function sourceStamp() {
  const hash = createHash('sha256');
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const { size, mtimeMs } = statSync(path);
        hash.update(`${path}\0${size}\0${mtimeMs}\n`);
      }
    }
  };
  walk(join(REPO, 'platform'));
  walk(join(REPO, 'lambdas'));
  return hash.digest('hex').slice(0, 16);
}

/** The entry module of the build for the sources as they are now, built if missing; undefined without esbuild. */
export async function prebuiltCli() {
  const dir = join(BUILD, `cli-${sourceStamp()}`);
  const entry = join(dir, 'partner-etl.js');
  if (existsSync(entry)) return entry;
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return undefined;
  }
  // Built aside and renamed into place: a concurrent run never sees half a build.
  mkdirSync(BUILD, { recursive: true });
  const temp = join(BUILD, `.tmp-${process.pid}-${Date.now()}`);
  await esbuild.build({
    entryPoints: { 'partner-etl': join(REPO, 'platform/cli/main.ts') },
    outdir: temp,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    logLevel: 'error',
  });
  try {
    renameSync(temp, dir);
  } catch {
    rmSync(temp, { recursive: true, force: true }); // another run built the same sources first
  }
  // Builds of older sources go; one still starting up elsewhere has its modules loaded by then.
  for (const old of readdirSync(BUILD)) {
    const path = join(BUILD, old);
    if (path !== dir && Date.now() - statSync(path).mtimeMs > 600_000) rmSync(path, { recursive: true, force: true });
  }
  return entry;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const entry = await prebuiltCli();
  console.log(entry ? `partner-etl CLI built: ${entry}` : 'partner-etl CLI not built (no esbuild): it runs through tsx');
}
