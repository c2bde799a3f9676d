/** DuckDB doing the same mapping in SQL (no schema validation), 2 threads: the speed to aim at. */
import { DuckDBInstance } from '@duckdb/node-api';
import { CASES } from '../cases.js';

const [name, file, out] = process.argv.slice(2) as [string, string, string];
const started = performance.now();
const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
const connection = await instance.connect();
await connection.run(CASES.find((c) => c.name === name)!.sql(file, out));
const seconds = (performance.now() - started) / 1000;
process.stdout.write(JSON.stringify({ code: 0, seconds, rssMiB: process.resourceUsage().maxRSS / 1024, cpuSeconds: cpuSeconds() }));

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}
