/**
 * The benchmark suite: every sample feed's mapping on data generated from its samples, the original
 * events feed, the performance issue's own 8-field mapping (partner-sales), and three mappings as
 * partners write them (bench/config): dates and code lookups, decimal commas in windows-1252, and a
 * wide file (60 columns, 40 fields). Each case names its feed, how to generate N rows of its data
 * (cached under bench/.cache), and the same work as DuckDB SQL.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { basename, join } from 'node:path';
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { findFeed, type FeedConfig } from '../lambdas/transformer/model.js';
import { requireValidConfig } from '../platform/config/load-config.js';
import { benchFile } from './generate.js';

export const REPO_ROOT = join(import.meta.dirname, '..');
export const BENCH_ROOT = join(import.meta.dirname, 'config');

export interface BenchCase {
  readonly name: string;
  /** The config folder holding the feed. */
  readonly root: string;
  /** `partner/feed`. */
  readonly feed: string;
  /** The data file of `rows` rows, generated once. */
  generate(rows: number): Promise<string>;
  /** DuckDB SQL doing the same mapping, reading `file` and writing NDJSON to `out`. */
  sql(file: string, out: string): string;
}

const CACHE = join(import.meta.dirname, '.cache');
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Deterministic pseudo-random numbers (mulberry32), so every run benchmarks the same bytes. */
export function random(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface CsvShape {
  readonly delimiter: string;
  readonly encoding: 'utf-8' | 'windows-1252';
  readonly eol: string;
  /** Lines before the header (or the first record). */
  readonly preamble: readonly string[];
  readonly header?: readonly string[];
}

/** Writes `rows` records made by `record(i)` (raw cells, quoted here when needed) to a cached file. */
async function writeCsv(name: string, rows: number, shape: CsvShape, record: (i: number) => string[]): Promise<string> {
  const path = join(CACHE, `${name}-${rows}.csv`);
  if (existsSync(path)) return path;
  mkdirSync(CACHE, { recursive: true });
  const tmp = `${path}.partial`;
  const out = createWriteStream(tmp);
  const write = (s: string) =>
    out.write(shape.encoding === 'utf-8' ? s : iconv.encode(s, 'win1252'))
      ? undefined
      : new Promise<void>((resolve) => out.once('drain', () => resolve()));
  const special = new RegExp(`["\\r\\n${shape.delimiter.replace(/[\\\]^-]/g, '\\$&')}]`);
  const quote = (cell: string) => (special.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);
  let batch = shape.preamble.map((l) => l + shape.eol).join('') + (shape.header ? shape.header.join(shape.delimiter) + shape.eol : '');
  for (let i = 0; i < rows; i++) {
    batch += record(i).map(quote).join(shape.delimiter) + shape.eol;
    if (batch.length > 1 << 20) {
      await write(batch);
      batch = '';
    }
  }
  await write(batch);
  await new Promise<void>((resolve) => out.end(resolve));
  renameSync(tmp, path);
  return path;
}

/**
 * DuckDB decodes windows-1252 only through an extension it downloads (there is no network here), and
 * its latin-1 reader refuses 0x80-0x9F (the en dash, the euro sign): it reads a UTF-8 copy, made
 * here and not timed, so its figures leave out the decoding the engine does.
 */
const utf8Copy = (file: string) => file.replace(/\.csv$/, '.utf8.csv');
async function withUtf8Copy(file: string): Promise<string> {
  const copy = utf8Copy(file);
  if (!existsSync(copy)) {
    await pipeline(createReadStream(file), iconv.decodeStream('win1252'), iconv.encodeStream('utf8'), createWriteStream(`${copy}.partial`));
    renameSync(`${copy}.partial`, copy);
  }
  return file;
}

function feedOf(root: string, name: string): FeedConfig {
  const feed = findFeed(requireValidConfig(root), name);
  if (!feed) throw new Error(`no feed ${name} under ${root}`);
  return feed;
}

/**
 * Rows recombined from a sample feed's golden samples (those without rejects): each cell comes from
 * a random sample record's same column, so the file has the samples' dialect, encoding, quoting,
 * null values and value shapes at any size.
 */
function fromSamples(name: string, feedName: string): (rows: number) => Promise<string> {
  return async (rows) => {
    const feed = feedOf(REPO_ROOT, feedName);
    const dir = join(REPO_ROOT, 'mappings', feed.partner, feed.id, 'samples');
    const samples = readdirSync(dir).filter(
      (f) => f.endsWith('.csv') && !existsSync(join(dir, f.replace(/\.[^.]+$/, '.expected-rejects.ndjson'))),
    );
    const csv = feed.csv;
    const encoding = csv.encoding === 'windows-1252' ? 'windows-1252' : 'utf-8';
    let preamble: string[] = [];
    let header: string[] | undefined;
    let eol = '\n';
    const records: string[][] = [];
    for (const sample of samples) {
      const bytes = readFileSync(join(dir, sample));
      const text = encoding === 'utf-8' ? bytes.toString('utf8') : iconv.decode(bytes, 'win1252');
      if (text.includes('\r\n')) eol = '\r\n';
      preamble = text.split(/\r?\n/).slice(0, csv.skipLines);
      const parsed = parse(text, {
        delimiter: csv.delimiter,
        quote: csv.quote || false,
        escape: csv.escape || csv.quote || null,
        from_line: csv.skipLines + 1,
        bom: true,
        relax_column_count: true,
        skip_empty_lines: true,
      }) as string[][];
      if (csv.header) header = parsed.shift();
      records.push(...parsed.filter((r) => r.length === (header ?? csv.columns!).length));
    }
    const width = (header ?? csv.columns!).length;
    const r = random(rows + width);
    return writeCsv(name, rows, { delimiter: csv.delimiter, encoding, eol, preamble, header }, () =>
      Array.from({ length: width }, (_, c) => records[Math.floor(r() * records.length)]![c]!),
    );
  };
}

const COUNTRIES = ['DE', 'fr', 'NL', 'BE', 'AT', 'ch', 'IT', 'ES', 'PT', 'PL', 'CZ', 'DK', 'SE', 'NO', 'FI', 'IE', 'GB', 'US', 'CA', 'JP'];
const pad = (n: number, width: number) => String(n).padStart(width, '0');
const DAY = 86_400_000;

/** The wide feed: 60 columns of six kinds, 40 output fields; its YAML mapping is checked against this spec. */
const WIDE_COLUMN_KINDS = ['id', 'text', 'number', 'code', 'flag', 'date'] as const;
const wideColumn = (i: number) => `c${pad(i, 2)}`;
const wideKind = (i: number) => WIDE_COLUMN_KINDS[i % WIDE_COLUMN_KINDS.length]!;
export const WIDE_FIELDS = Array.from({ length: 40 }, (_, f) => {
  const i = f + 1;
  const col = wideColumn(i);
  if (i % 7 === 0)
    return { name: `f${pad(i, 2)}`, jsonata: `${col} & " " & ${wideColumn(i + 20)}`, sql: `${col} || ' ' || ${wideColumn(i + 20)}` };
  switch (wideKind(i)) {
    case 'text':
      return { name: `f${pad(i, 2)}`, jsonata: `$trim(${col})`, sql: `trim(regexp_replace(${col}, '[ \\t\\n\\r]+', ' ', 'g'))` };
    case 'number':
      return { name: `f${pad(i, 2)}`, jsonata: `$number(${col})`, sql: `CAST(${col} AS DOUBLE)` };
    case 'code':
      return { name: `f${pad(i, 2)}`, jsonata: `$uppercase(${col})`, sql: `upper(${col})` };
    case 'flag':
      return { name: `f${pad(i, 2)}`, jsonata: `${col} = "Y"`, sql: `${col} = 'Y'` };
    default:
      return { name: `f${pad(i, 2)}`, jsonata: col, sql: col };
  }
});

export const CASES: readonly BenchCase[] = [
  {
    name: 'events',
    root: BENCH_ROOT,
    feed: 'bench/events',
    generate: benchFile,
    sql: (file, out) => `
      COPY (SELECT
        event_id AS "eventId", occurred_at AS "occurredAt",
        {'id': CAST(user_id AS BIGINT), 'email': lower(email)} AS "user",
        upper(country) AS "country",
        CASE WHEN amount = '' THEN NULL ELSE CAST(amount AS DOUBLE) END AS "amount",
        CAST(quantity AS BIGINT) AS "quantity", status = 'paid' AS "paid",
        trim(regexp_replace(comment, '[ \\t\\n\\r]+', ' ', 'g')) AS "comment"
      FROM read_csv(${literal(file)}, header = true, all_varchar = true, quote = '"', escape = '"')
      ) TO ${literal(out)} (FORMAT JSON)`,
  },
  {
    name: 'acme-orders',
    root: REPO_ROOT,
    feed: 'acme/orders',
    generate: fromSamples('acme-orders', 'acme/orders'),
    sql: (file, out) => `
      COPY (SELECT
        order_id AS "orderId", order_date AS "orderedAt", CAST(amount AS DOUBLE) AS "amount", upper(currency) AS "currency",
        {'email': lower(trim(regexp_replace(customer_email, '[ \\t\\n\\r]+', ' ', 'g'))), 'name': customer_name} AS "customer",
        shipping = 'express' AS "express",
        {'file': ${literal(`acme/orders/${basename(file)}`)}, 'line': CAST(row_number() OVER () + 1 AS BIGINT)} AS "ingest"
      FROM read_csv(${literal(file)}, header = true, all_varchar = true, quote = '"', escape = '"')
      ) TO ${literal(out)} (FORMAT JSON)`,
  },
  {
    name: 'acme-customers',
    root: REPO_ROOT,
    feed: 'acme/customers',
    generate: fromSamples('acme-customers', 'acme/customers'),
    sql: (file, out) => `
      COPY (SELECT
        customer_id AS "customerId",
        {'first': trim(first_name), 'last': trim(last_name), 'full': trim(first_name) || ' ' || trim(last_name)} AS "name",
        lower(email) AS "email", upper(country) AS "country", signup_date AS "signedUpOn",
        lower(marketing_opt_in) IN ('y', 'yes', '1', 'true') AS "marketingOptIn",
        CASE WHEN tags IS NULL OR tags = '' THEN [] ELSE string_split(tags, ';') END AS "tags"
      FROM read_csv(${literal(file)}, header = true, all_varchar = true, quote = '"', escape = '"')
      ) TO ${literal(out)} (FORMAT JSON)`,
  },
  {
    name: 'globex-shipments',
    root: REPO_ROOT,
    feed: 'globex/shipments',
    generate: fromSamples('globex-shipments', 'globex/shipments'),
    sql: (file, out) => `
      COPY (SELECT
        shipment_id AS "shipmentId", upper(carrier) AS "carrier", CAST(weight_kg AS DOUBLE) AS "weightKg",
        {'city': split_part(destination, ',', 1), 'country': trim(split_part(destination, ',', 2))} AS "destination",
        notes AS "notes", shipped_at AS "shippedAt", CAST(weight_kg AS DOUBLE) > 1000 AS "heavy"
      FROM read_csv(${literal(file)}, header = false, delim = '|', all_varchar = true, quote = '"', escape = '"', nullstr = ['NULL', ''],
        names = ['shipment_id', 'carrier', 'weight_kg', 'destination', 'notes', 'shipped_at'])
      ) TO ${literal(out)} (FORMAT JSON)`,
  },
  {
    name: 'muller-invoices',
    root: REPO_ROOT,
    feed: 'muller/invoices',
    generate: async (rows) => withUtf8Copy(await fromSamples('muller-invoices', 'muller/invoices')(rows)),
    sql: (file, out) => `
      COPY (SELECT
        Rechnungsnr AS "invoiceNumber",
        CASE WHEN strftime(try_strptime(Datum, '%d.%m.%Y'), '%d.%m.%Y') = Datum THEN strftime(try_strptime(Datum, '%d.%m.%Y'), '%Y-%m-%d')
          ELSE error('Datum is not a valid day-first date: ' || Datum) END AS "invoiceDate",
        Kunde AS "customer", CAST(replace(replace(Betrag, '.', ''), ',', '.') AS DOUBLE) AS "amount",
        "Währung" AS "currency", Bemerkung AS "note"
      FROM read_csv(${literal(utf8Copy(file))}, header = true, skip = 1, delim = ';', all_varchar = true, quote = '"', escape = '"',
        nullstr = ['', '-'])
      ) TO ${literal(out)} (FORMAT JSON)`,
  },
  {
    // The issue's own example: 8 fields, a date picture, a name joined with &, $exists conditionals,
    // number casts, upper and lower case; its schema uses pattern, enum and maxLength. 165 bytes a row
    // (the issue's 81 MB at 500,000 rows): a partner export carries columns the mapping does not read.
    name: 'partner-sales',
    root: BENCH_ROOT,
    feed: 'bench/sales',
    generate: (rows) => {
      const r = random(rows + 4);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
      const first = ['Anna', 'Lukas', 'Marie', 'Jonas', 'Sophie', 'Maximilian', 'Emma', 'Leon', 'Charlotte', 'Paul', 'Jean-Luc', 'Zoë'];
      const last = ['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker', 'Dubois', 'van Dijk', "O'Brien"];
      const streets = ['Hauptstraße', 'Bahnhofstraße', 'Rue de la Paix', 'Kerkstraat', 'Via Roma', 'High Street'];
      const cities = ['Berlin', 'Hamburg', 'München', 'Paris', 'Amsterdam', 'Wien', 'Zürich', 'Milano', 'Dublin', 'Köln'];
      const notes = ['', '', '', 'leave at the door', 'gift wrap, please', 'call before delivery', 'Rechnung an Firma'];
      const start = Date.UTC(2023, 0, 1);
      return writeCsv(
        'partner-sales',
        rows,
        {
          delimiter: ',',
          encoding: 'utf-8',
          eol: '\n',
          preamble: [],
          header: [
            'order_id',
            'order_date',
            'first_name',
            'last_name',
            'email',
            'country',
            'amount',
            'discount',
            'channel',
            'street',
            'city',
            'postcode',
            'phone',
            'note',
            'sku',
            'currency',
            'batch',
          ],
        },
        (i) => {
          const name = [pick(first), pick(last)];
          return [
            `ORD-${pad(i % 100_000_000, 8)}`,
            new Date(start + Math.floor(r() * 1000) * DAY).toISOString().slice(0, 10),
            name[0]!,
            name[1]!,
            `${name[0]!.replace(/[^A-Za-z]/g, '')}.${Math.floor(r() * 1e5)}@Example.COM`,
            pick(COUNTRIES),
            (r() * 2000).toFixed(2),
            r() < 0.6 ? '' : (r() * 50).toFixed(2),
            pick(['', 'Web', 'APP', 'store', 'Phone']),
            `${pick(streets)} ${1 + Math.floor(r() * 250)}`,
            pick(cities),
            pad(Math.floor(r() * 99999), 5),
            `+49 ${100 + Math.floor(r() * 900)} ${pad(Math.floor(r() * 1e7), 7)}`,
            pick(notes),
            `SKU-${pad(Math.floor(r() * 1e5), 5)}-${pick(['BLK', 'WHT', 'BLU', 'RED'])}-${pick(['S', 'M', 'L', 'XL'])}`,
            pick(['EUR', 'EUR', 'CHF', 'GBP']),
            `B${pad(Math.floor(i / 50_000), 6)}`,
          ];
        },
      );
    },
    sql: (file, out) => `
      COPY (SELECT
        order_id AS "orderId", epoch_ms(strptime(order_date, '%Y-%m-%d')) AS "orderDate",
        first_name || ' ' || last_name AS "name", lower(email) AS "email", upper(country) AS "country",
        CAST(amount AS DOUBLE) AS "amount", CASE WHEN discount IS NULL THEN 0 ELSE CAST(discount AS DOUBLE) END AS "discount",
        coalesce(lower(channel), 'web') AS "channel"
      FROM read_csv(${literal(file)}, header = true, all_varchar = true, quote = '"', escape = '"')
      ) TO ${literal(out)} (FORMAT JSON)`,
  },
  {
    name: 'dates-lookups',
    root: BENCH_ROOT,
    feed: 'bench/orders',
    generate: (rows) => {
      const r = random(rows + 1);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
      const start = Date.UTC(2024, 0, 1);
      return writeCsv(
        'dates-lookups',
        rows,
        {
          delimiter: ',',
          encoding: 'utf-8',
          eol: '\n',
          preamble: [],
          header: ['order_id', 'order_date', 'ship_date', 'created_at', 'country', 'status', 'channel', 'amount', 'currency', 'email'],
        },
        (i) => {
          const ordered = start + Math.floor(r() * 900) * DAY;
          const shipped = new Date(ordered + Math.floor(r() * 14) * DAY);
          const created = new Date(ordered + Math.floor(r() * DAY));
          const o = new Date(ordered);
          return [
            `O-${pad(i % 10_000_000, 7)}`,
            `${pad(o.getUTCDate(), 2)}/${pad(o.getUTCMonth() + 1, 2)}/${o.getUTCFullYear()}`,
            shipped.toISOString().slice(0, 10).replace(/-/g, ''),
            created.toISOString().slice(0, 19).replace('T', ' '),
            pick(COUNTRIES),
            pick(['N', 'P', 'S', 'D', 'C', 'R']),
            pick(['W', 'A', 'S', 'P']),
            (r() * 5000).toFixed(2),
            pick(['EUR', 'USD', 'GBP']),
            `Customer.${Math.floor(r() * 1e6)}@Example.com`,
          ];
        },
      );
    },
    sql: (file, out) => `
      COPY (
        WITH rows AS (
          SELECT *, strptime(order_date, '%d/%m/%Y') AS ordered, strptime(ship_date, '%Y%m%d') AS shipped
          FROM read_csv(${literal(file)}, header = true, all_varchar = true, quote = '"', escape = '"')
        )
        SELECT
          order_id AS "orderId", strftime(ordered, '%Y-%m-%d') AS "orderedOn", strftime(ordered, '%A') AS "weekday",
          strftime(shipped, '%Y-%m-%d') AS "shippedOn", date_diff('day', ordered, shipped) AS "leadDays",
          strftime(strptime(created_at, '%Y-%m-%d %H:%M:%S'), '%Y-%m-%dT%H:%M:%S.000Z') AS "createdAt",
          MAP {'DE': 'Germany', 'FR': 'France', 'NL': 'Netherlands', 'BE': 'Belgium', 'AT': 'Austria', 'CH': 'Switzerland',
            'IT': 'Italy', 'ES': 'Spain', 'PT': 'Portugal', 'PL': 'Poland', 'CZ': 'Czechia', 'DK': 'Denmark', 'SE': 'Sweden',
            'NO': 'Norway', 'FI': 'Finland', 'IE': 'Ireland', 'GB': 'United Kingdom', 'US': 'United States', 'CA': 'Canada',
            'JP': 'Japan'}[upper(country)] AS "country",
          MAP {'N': 'new', 'P': 'paid', 'S': 'shipped', 'D': 'delivered', 'C': 'cancelled', 'R': 'returned'}[status] AS "status",
          MAP {'W': 'web', 'A': 'app', 'S': 'store', 'P': 'phone'}[channel] AS "channel",
          CAST(amount AS DOUBLE) AS "amount", format('{:,.2f}', CAST(amount AS DOUBLE)) || ' ' || currency AS "amountText",
          lower(email) AS "email"
        FROM rows
      ) TO ${literal(out)} (FORMAT JSON)`,
  },
  {
    name: 'decimal-comma-1252',
    root: BENCH_ROOT,
    feed: 'bench/belege',
    generate: async (rows) => {
      const r = random(rows + 2);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
      const german = (n: number) => {
        const [int, frac] = n.toFixed(2).split('.') as [string, string];
        return `${int.replace(/\B(?=(\d{3})+(?!\d))/g, '.')},${frac}`;
      };
      const start = Date.UTC(2025, 0, 1);
      return withUtf8Copy(
        await writeCsv(
          'decimal-comma-1252',
          rows,
          {
            delimiter: ';',
            encoding: 'windows-1252',
            eol: '\r\n',
            preamble: [],
            header: ['Belegnr', 'Datum', 'Kunde', 'Straße', 'Ort', 'Netto', 'MwSt', 'Brutto', 'Währung', 'Bemerkung'],
          },
          (i) => {
            const d = new Date(start + Math.floor(r() * 700) * DAY);
            const net = r() * 20000;
            const rate = pick([0, 7, 19, 19, 19]);
            return [
              `B${pad(i % 100_000_000, 8)}`,
              `${pad(d.getUTCDate(), 2)}.${pad(d.getUTCMonth() + 1, 2)}.${d.getUTCFullYear()}`,
              pick(['Bäckerei Schröder', 'Café Größe & Söhne', 'Meier; Schulz KG', 'Müller GmbH', 'Weiß Ölhandel', 'Jürgens e.K.']),
              `${pick(['Hauptstraße', 'Königsallee', 'Gänsemarkt', 'Am Bärenzwinger'])} ${1 + Math.floor(r() * 200)}`,
              pick(['München', 'Köln', 'Düsseldorf', 'Nürnberg', 'Lübeck', 'Zürich']),
              german(net),
              String(rate),
              ` ${german(net * (1 + rate / 100))} `,
              pick(['EUR', 'EUR', 'EUR', 'CHF']),
              pick(['-', 'Zahlbar in 30 Tagen, 2 % Skonto', 'Lieferung frei Haus', 'Gutschrift über 50 €', '']),
            ];
          },
        ),
      );
    },
    sql: (file, out) => `
      COPY (SELECT
        Belegnr AS "belegnummer", strftime(strptime(Datum, '%d.%m.%Y'), '%Y-%m-%d') AS "datum",
        {'name': Kunde, 'strasse': "Straße", 'ort': Ort} AS "kunde",
        CAST(replace(replace(Netto, '.', ''), ',', '.') AS DOUBLE) AS "netto", CAST(MwSt AS DOUBLE) / 100 AS "steuersatz",
        CAST(replace(replace(Brutto, '.', ''), ',', '.') AS DOUBLE) AS "brutto", "Währung" AS "waehrung", Bemerkung AS "bemerkung"
      FROM read_csv(${literal(utf8Copy(file))}, header = true, delim = ';', all_varchar = true, quote = '"', escape = '"',
        nullstr = ['', '-'])
      ) TO ${literal(out)} (FORMAT JSON)`,
  },
  {
    name: 'wide',
    root: BENCH_ROOT,
    feed: 'bench/wide',
    generate: (rows) => {
      const r = random(rows + 3);
      const header = Array.from({ length: 60 }, (_, c) => wideColumn(c + 1));
      return writeCsv('wide', rows, { delimiter: ',', encoding: 'utf-8', eol: '\n', preamble: [], header }, (i) =>
        header.map((_, c) => {
          switch (wideKind(c + 1)) {
            case 'id':
              return `ID${i}-${c}`;
            case 'text':
              return r() < 0.2 ? ` padded, text ${Math.floor(r() * 1000)} ` : `text ${Math.floor(r() * 100000)}`;
            case 'number':
              return (r() * 10000).toFixed(2);
            case 'code':
              return COUNTRIES[Math.floor(r() * COUNTRIES.length)]!;
            case 'flag':
              return r() < 0.5 ? 'Y' : 'N';
            default:
              return new Date(Date.UTC(2025, 0, 1) + Math.floor(r() * 365) * DAY).toISOString().slice(0, 10);
          }
        }),
      );
    },
    sql: (file, out) => `
      COPY (SELECT ${WIDE_FIELDS.map((f) => `${f.sql} AS "${f.name}"`).join(', ')}
      FROM read_csv(${literal(file)}, header = true, all_varchar = true, quote = '"', escape = '"')
      ) TO ${literal(out)} (FORMAT JSON)`,
  },
];

/** The bench feed's YAML must say what WIDE_FIELDS says (the SQL is derived from the spec). */
export function checkWideMapping(): void {
  const feed = feedOf(BENCH_ROOT, 'bench/wide');
  const yaml = feed.mapping.kind === 'fields' ? feed.mapping.fields.map((f) => `${f.name}: ${f.expression}`) : [];
  const spec = WIDE_FIELDS.map((f) => `${f.name}: ${f.jsonata}`);
  if (JSON.stringify(yaml) !== JSON.stringify(spec)) {
    throw new Error(`bench/config/partners/bench.yaml's wide mapping differs from WIDE_FIELDS in bench/cases.ts:\n${spec.join('\n')}`);
  }
}
