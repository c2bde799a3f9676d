/** The engine exactly as `partner-etl transform` runs it (the same command function), in its own process. */
import { runTransformCommand } from '../../platform/cli/transform-command.js';
import { CASES } from '../cases.js';

const [name, file, out] = process.argv.slice(2) as [string, string, string];
const started = performance.now();
const bench = CASES.find((c) => c.name === name)!;
const code = await runTransformCommand({ root: bench.root, feed: bench.feed, file, out });
const seconds = (performance.now() - started) / 1000;
process.stdout.write(JSON.stringify({ code, seconds, rssMiB: process.resourceUsage().maxRSS / 1024, cpuSeconds: cpuSeconds() }));

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}
