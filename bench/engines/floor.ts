/** The read-only floor: stream the file and count newlines. */
import { createReadStream } from 'node:fs';

const [, file] = process.argv.slice(2) as [string, string];
const started = performance.now();
let lines = 0;
for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
}
const seconds = (performance.now() - started) / 1000;
process.stdout.write(JSON.stringify({ code: 0, lines, seconds, rssMiB: process.resourceUsage().maxRSS / 1024, cpuSeconds: cpuSeconds() }));

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}
