#!/usr/bin/env node
// Entry point of `npx partner-etl`: registers tsx so the TypeScript sources run as they are, with no
// build step between a checkout and the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
await main();
