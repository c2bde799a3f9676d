/**
 * The transformer Lambda's cold start on this machine: the handler bundled as the CDK app bundles
 * it (esbuild, ESM, minified, the AWS SDK bundled in, source maps without sources), beside the
 * sample partners' config bundle;
 * then, in fresh processes with `--enable-source-maps` as the function's NODE_OPTIONS, the time to
 * import `index.mjs`, which reads the bundle and compiles every feed's mapping and schema at module
 * scope, so the first invocation has nothing left to compile.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { BUNDLE_FILE } from '../lambdas/transformer/bundle.js';
import { createBundle } from '../platform/config/bundle.js';
import { requireValidConfig } from '../platform/config/load-config.js';
import { REPO_ROOT } from './cases.js';

export interface ColdStart {
  /** Median milliseconds to import the bundled handler (module scope: bundle read, feeds compiled). */
  readonly importMs: number;
  /** Median milliseconds from process start to the handler ready (Node's own start-up included). */
  readonly readyMs: number;
  readonly bundleKiB: number;
  readonly runs: number;
}

export async function measureColdStart(runs = 7): Promise<ColdStart> {
  mkdirSync(join(import.meta.dirname, '.cache'), { recursive: true });
  const dir = mkdtempSync(join(import.meta.dirname, '.cache', 'cold-start-'));
  const result = await build({
    entryPoints: [join(REPO_ROOT, 'lambdas/transformer/handler.ts')],
    outfile: join(dir, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    sourcemap: true,
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
    sourcesContent: false,
    metafile: true,
    logLevel: 'error',
  });
  writeFileSync(join(dir, BUNDLE_FILE), JSON.stringify(createBundle(requireValidConfig(REPO_ROOT))));
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  const url = pathToFileURL(join(dir, 'index.mjs')).href;
  const script = `const t0 = performance.now(); await import(${JSON.stringify(url)}); const t1 = performance.now();
    process.stdout.write(JSON.stringify({ importMs: t1 - t0, readyMs: t1 }));`;
  const samples: { importMs: number; readyMs: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const child = spawnSync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'eu-central-1',
        INBOUND_BUCKET: 'inbound',
        OUTPUT_BUCKET: 'output',
        REJECTS_BUCKET: 'rejects',
        LEDGER_TABLE: 'ledger',
        EVENT_BUS_NAME: 'bus',
        MAX_RECEIVE_COUNT: '5',
        POWERTOOLS_SERVICE_NAME: 'partner-etl',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    });
    if (child.status !== 0) throw new Error(`cold start failed: ${child.stderr}`);
    samples.push(JSON.parse(child.stdout) as { importMs: number; readyMs: number });
  }
  rmSync(dir, { recursive: true, force: true });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return {
    importMs: Math.round(median(samples.map((s) => s.importMs))),
    readyMs: Math.round(median(samples.map((s) => s.readyMs))),
    bundleKiB: Math.round(bytes / 1024),
    runs,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) console.log(await measureColdStart());
