#!/usr/bin/env node
// Entry point of `npx partner-etl`: registers tsx so the TypeScript sources run as they are, with no
// build step between a checkout and the CLI.
import { register } from 'tsx/esm/api';

register();
// The AWS SDK warns on every start that releases from 2027 need Node 22; the lockfile pins the
// versions this project runs, so that warning is noise here (the SDK's own switch turns it off).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('./main.ts');
await main();
