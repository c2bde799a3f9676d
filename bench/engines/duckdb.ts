/** DuckDB doing the same mapping in SQL (no schema validation), 2 threads: the speed to aim at. */
import { DuckDBInstance } from '@duckdb/node-api';

const [file, out] = process.argv.slice(2) as [string, string];
const started = performance.now();
const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
const connection = await instance.connect();
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
await connection.run(`
  COPY (
    SELECT
      event_id AS "eventId",
      occurred_at AS "occurredAt",
      {'id': CAST(user_id AS BIGINT), 'email': lower(email)} AS "user",
      upper(country) AS "country",
      CASE WHEN amount = '' THEN NULL ELSE CAST(amount AS DOUBLE) END AS "amount",
      CAST(quantity AS BIGINT) AS "quantity",
      status = 'paid' AS "paid",
      trim(regexp_replace(comment, '[ \\t\\n\\r]+', ' ', 'g')) AS "comment"
    FROM read_csv(${literal(file)}, header = true, all_varchar = true, quote = '"', escape = '"')
  ) TO ${literal(out)} (FORMAT JSON)`);
const seconds = (performance.now() - started) / 1000;
process.stdout.write(JSON.stringify({ code: 0, seconds, rssMiB: process.resourceUsage().maxRSS / 1024 }));
