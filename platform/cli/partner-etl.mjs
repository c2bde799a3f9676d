#!/usr/bin/env node
// Entry point of `npx partner-etl`. Runs the CLI prebuilt by esbuild (platform/cli/build-cli.mjs:
// built at `npm ci`, rebuilt here when a source changed), which starts in a fraction of the time
// tsx needs to compile the TypeScript sources on every start; without esbuild (no devDependencies)
// it registers tsx and runs the sources as they are.
import { pathToFileURL } from 'node:url';
import { prebuiltCli } from './build-cli.mjs';

// The AWS SDK warns on every start that releases from 2027 need Node 22; the lockfile pins the
// versions this project runs, so that warning is noise here (the SDK's own switch turns it off).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const prebuilt = await prebuiltCli();
let main;
if (prebuilt) {
  ({ main } = await import(pathToFileURL(prebuilt).href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('./main.ts'));
}
await main();
