import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { zipSync, type Zippable } from 'fflate';
import { buildApp } from '../cdk/app.js';
import { stackNameOf } from '../cdk/stack-outputs.js';

/** A synthesised stage: its template and the file assets `cdk deploy` would publish. */
export interface SynthesisedStage {
  readonly stackName: string;
  readonly outdir: string;
  readonly templateFile: string;
  readonly assets: readonly FileAsset[];
}

export interface FileAsset {
  /** Absolute path of the asset in the cloud assembly (a directory for `zip` packaging). */
  readonly path: string;
  readonly packaging: 'zip' | 'file';
  readonly bucketName: string;
  readonly objectKey: string;
}

/**
 * Synthesises a stage as `cdk synth`/`cdk deploy` would: the app of `cdk.json` with that file's
 * context, and `CDK_DEFAULT_ACCOUNT`/`CDK_DEFAULT_REGION` set to the target account and region (the
 * CLI sets them from the credentials it deploys with). cdk-nag runs as at every synth.
 */
export function synthesiseStage(options: {
  root: string;
  stage: string;
  outdir: string;
  account?: string;
  region?: string;
}): SynthesisedStage {
  const cdkJson = JSON.parse(readFileSync(join(options.root, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  const saved = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  // Without an account and region the stack is environment-agnostic, as `npm run synth` makes it offline.
  restoreEnv('CDK_DEFAULT_ACCOUNT', options.account);
  restoreEnv('CDK_DEFAULT_REGION', options.region);
  try {
    // The CLI's own context keys: construct paths and asset paths in the template's metadata.
    const context = { ...cdkJson.context, 'aws:cdk:enable-path-metadata': true, 'aws:cdk:enable-asset-metadata': true };
    buildApp({ root: options.root, stage: options.stage, context, outdir: options.outdir }).synth();
  } finally {
    restoreEnv('CDK_DEFAULT_ACCOUNT', saved.account);
    restoreEnv('CDK_DEFAULT_REGION', saved.region);
  }
  const stackName = stackNameOf(options.stage);
  return {
    stackName,
    outdir: options.outdir,
    templateFile: join(options.outdir, `${stackName}.template.json`),
    assets: readAssets(options.outdir, stackName),
  };
}

/** Sets or unsets an environment variable. */
function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

interface AssetManifest {
  files?: Record<
    string,
    { source: { path: string; packaging?: 'zip' | 'file' }; destinations: Record<string, { bucketName: string; objectKey: string }> }
  >;
}

function readAssets(outdir: string, stackName: string): FileAsset[] {
  const manifest = JSON.parse(readFileSync(join(outdir, `${stackName}.assets.json`), 'utf8')) as AssetManifest;
  return Object.values(manifest.files ?? {}).flatMap((file) =>
    Object.values(file.destinations).map((destination) => ({
      path: join(outdir, file.source.path),
      packaging: file.source.packaging ?? 'file',
      bucketName: destination.bucketName,
      objectKey: destination.objectKey,
    })),
  );
}

/** The bytes `cdk deploy` uploads for an asset: the file itself, or the directory zipped (paths relative, sorted). */
export function assetBytes(asset: FileAsset): Uint8Array {
  if (asset.packaging === 'file') return readFileSync(asset.path);
  const files: Zippable = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else files[relative(asset.path, full).split('\\').join('/')] = [readFileSync(full), { mtime: new Date('1980-01-01T00:00:00Z') }];
    }
  };
  walk(asset.path);
  return zipSync(files);
}

/** Base64 SHA-256, the form of Lambda's `CodeSha256`. */
export function sha256Base64(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64');
}

/** The bundle's entry file inside the function asset (`cdk.out/asset.<hash>/index.mjs`). */
export function functionEntry(asset: FileAsset, handler: string): string {
  const file = handler.slice(0, handler.lastIndexOf('.'));
  const candidates = ['.mjs', '.js', '.cjs'].map((ext) => join(asset.path, `${file}${ext}`));
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`the function asset ${asset.path} has no ${file}.mjs/.js/.cjs for handler ${handler}`);
  return found;
}

/**
 * The packages the bundle imports instead of carrying: NodejsFunction leaves `@aws-sdk/*` out of the
 * bundle for the SDK the Lambda runtime provides. Bare import specifiers of the minified entry.
 */
export function bundleExternals(entry: string): string[] {
  const code = readFileSync(entry, 'utf8');
  const found = new Set<string>();
  for (const match of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s*)["']([^"'./][^"']*)["']/g)) {
    const specifier = match[1]!;
    if (specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
    found.add(specifier);
  }
  return [...found].sort();
}

/**
 * Lets the bundle's external imports resolve from the repository's node_modules (the versions of the
 * lockfile), standing in for the SDK of the Lambda runtime: a `node_modules` link beside the asset.
 */
export function linkRuntimeModules(entry: string, root: string): void {
  const link = join(dirname(dirname(entry)), 'node_modules');
  if (!existsSync(link)) symlinkSync(join(root, 'node_modules'), link, 'dir');
}
