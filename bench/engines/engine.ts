/** The engine exactly as `partner-etl transform` runs it (the same command function), in its own process. */
import { join } from 'node:path';
import { runTransformCommand } from '../../platform/cli/transform-command.js';

const [file, out] = process.argv.slice(2) as [string, string];
const started = performance.now();
const code = await runTransformCommand({ root: join(import.meta.dirname, '../config'), feed: 'bench/events', file, out });
const seconds = (performance.now() - started) / 1000;
process.stdout.write(JSON.stringify({ code, seconds, rssMiB: process.resourceUsage().maxRSS / 1024 }));
