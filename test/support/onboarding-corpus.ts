/**
 * The onboarding corpus: CSV files of every dialect, encoding and column type `partner-etl init`
 * must read, each with what init must find in it. The files are generated here, deterministically,
 * and committed under test/fixtures/onboarding/ so they can be tried by hand:
 *
 *   node --import tsx test/support/onboarding-corpus.ts     # rewrites the fixtures
 *
 * The test checks that the committed files are exactly what this script makes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import iconv from 'iconv-lite';

export const CORPUS_DIR = join(import.meta.dirname, '../fixtures/onboarding');

export interface CorpusExpectation {
  readonly encoding: 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';
  readonly bom?: boolean;
  readonly lineEnding: 'LF' | 'CRLF' | 'CR';
  readonly delimiter: ',' | ';' | '\t' | '|';
  /** Default '"'. */
  readonly quote?: string;
  /** Default: the quote. */
  readonly escape?: string;
  readonly header: boolean;
  readonly skipLines?: number;
  readonly trim?: boolean;
  /** Default [""]. */
  readonly nullValues?: readonly string[];
  /** Every column's type as `describeType` words it, with `, required` when never empty. */
  readonly types: Readonly<Record<string, string>>;
  /** Output names, when the test checks them. */
  readonly outputs?: Readonly<Record<string, string>>;
}

export interface CorpusFile {
  readonly name: string;
  /** What the file shows. */
  readonly shows: string;
  readonly bytes: Buffer;
  readonly expect: CorpusExpectation;
}

interface Spec {
  readonly name: string;
  readonly shows: string;
  /** Lines of text, already in the file's dialect; joined with the line ending. */
  readonly lines: readonly string[];
  readonly expect: CorpusExpectation;
}

const EOL = { LF: '\n', CRLF: '\r\n', CR: '\r' } as const;

/** 20 rows of something from a generator: enough for enums and the header vote. */
function rows(n: number, row: (i: number) => string): string[] {
  return Array.from({ length: n }, (_, i) => row(i));
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
/** 1234.5 -> "1.234,50" */
const germanAmount = (n: number) => {
  const [whole, cents] = n.toFixed(2).split('.');
  return `${whole!.replace(/\B(?=(\d{3})+$)/g, '.')},${cents}`;
};
const STATUSES = ['OPEN', 'SHIPPED', 'CLOSED'];
const CITIES = ['Berlin', 'Lyon', 'Porto', 'Chicago', 'Osaka', 'Quito', 'Oslo'];

const SPECS: Spec[] = [
  {
    name: '01-comma-utf8-lf.csv',
    shows: 'the common case: comma, UTF-8, LF, integers, decimals, ISO dates, e-mail, true/false, an enum',
    lines: [
      'id,quantity,price,ordered_on,email,paid,status',
      ...rows(
        20,
        (i) =>
          `${1000 + i},${i % 7},${(i * 3.25 + 0.5).toFixed(2)},2026-11-${pad(i + 1)},user${i}@example.com,${i % 2 ? 'true' : 'false'},${STATUSES[i % 3]}`,
      ),
    ],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: ',',
      header: true,
      types: {
        id: 'integer, required',
        quantity: 'integer, required',
        price: 'decimal (point), required',
        ordered_on: 'date, required',
        email: 'email, required',
        paid: 'boolean, required',
        status: 'enum "CLOSED", "OPEN", "SHIPPED", required',
      },
    },
  },
  {
    name: '02-semicolon-1252-crlf-preamble.csv',
    shows: 'a German export: windows-1252, semicolons, CRLF, two preamble lines, decimal commas with dot thousands, day-first dates',
    lines: [
      'Umsatzliste Müller & Söhne',
      'erstellt am 01.12.2026',
      'Belegnr;Datum;Kunde;Betrag;Währung',
      ...rows(12, (i) => `B-${pad(i + 1, 4)};${pad(i + 13)}.11.2026;Bäckerei Nr. ${i};${germanAmount((i + 1) * 1111.07 - 500 * i)};EUR`),
    ],
    expect: {
      encoding: 'windows-1252',
      lineEnding: 'CRLF',
      delimiter: ';',
      header: true,
      skipLines: 2,
      types: {
        Belegnr: 'string, required',
        Datum: 'day-first date ".", required',
        Kunde: 'string, required',
        Betrag: 'decimal (comma, thousands "."), required',
        Währung: 'enum "EUR", required',
      },
      outputs: { Währung: 'wahrung' },
    },
  },
  {
    name: '03-tab-utf8-bom-month-first.tsv',
    shows: 'tab-separated with a UTF-8 byte-order mark, US month-first dates (a month above 12 never, a day above 12 in row 1), yes/no',
    lines: [
      'Order Number\tOrder Date\tShipped\tTotal USD',
      ...rows(
        15,
        (i) => `PO-${7000 + i}\t${pad((i % 12) + 1)}/${pad(i + 13)}/2026\t${i % 3 ? 'yes' : 'no'}\t${(1000 + i * 250.5).toFixed(2)}`,
      ),
    ],
    expect: {
      encoding: 'utf-8',
      bom: true,
      lineEnding: 'LF',
      delimiter: '\t',
      header: true,
      types: {
        'Order Number': 'string, required',
        'Order Date': 'month-first date "/", required',
        Shipped: 'boolean, required',
        'Total USD': 'decimal (point), required',
      },
      outputs: { 'Order Number': 'orderNumber', 'Total USD': 'totalUsd' },
    },
  },
  {
    name: '04-pipe-no-header-crlf-null.txt',
    shows: 'pipe-separated without a header, CRLF, NULL as a null value, zoned ISO date-times',
    lines: rows(
      10,
      (i) =>
        `SHP${pad(i, 6)}|${['dhl', 'ups', 'dpd'][i % 3]}|${i % 4 === 0 ? 'NULL' : `${i * 1.5 + 0.25}`}|2026-11-27T${pad(i + 8)}:15:00Z`,
    ),
    expect: {
      encoding: 'utf-8',
      lineEnding: 'CRLF',
      delimiter: '|',
      header: false,
      nullValues: ['', 'NULL'],
      types: {
        column1: 'string, required',
        column2: 'enum "dhl", "dpd", "ups", required',
        column3: 'decimal (point)',
        column4: 'date-time, required',
      },
    },
  },
  {
    name: '05-utf16le-bom.csv',
    shows: 'UTF-16LE with a byte-order mark (as Excel saves "Unicode text"), CRLF',
    lines: ['name,city,visits', ...rows(8, (i) => `Zoë ${i},${CITIES[i % 7]},${i * 11}`)],
    expect: {
      encoding: 'utf-16le',
      bom: true,
      lineEnding: 'CRLF',
      delimiter: ',',
      header: true,
      types: { name: 'string, required', city: 'string, required', visits: 'integer, required' },
    },
  },
  {
    name: '06-utf16be-bom-semicolon.csv',
    shows: 'UTF-16BE with a byte-order mark, semicolons',
    lines: ['Artikel;Menge;Preis', ...rows(8, (i) => `Schraube M${i + 3};${i + 1};${i + 1},${pad(i * 5)}`)],
    expect: {
      encoding: 'utf-16be',
      bom: true,
      lineEnding: 'LF',
      delimiter: ';',
      header: true,
      types: { Artikel: 'string, required', Menge: 'integer, required', Preis: 'decimal (comma), required' },
    },
  },
  {
    name: '07-utf16le-no-bom.csv',
    shows: 'UTF-16LE without a byte-order mark: recognised by its NUL bytes',
    lines: ['sku,stock', ...rows(10, (i) => `SKU-${i},${i * 3}`)],
    expect: {
      encoding: 'utf-16le',
      lineEnding: 'LF',
      delimiter: ',',
      header: true,
      types: { sku: 'string, required', stock: 'integer, required' },
    },
  },
  {
    name: '08-single-quotes.csv',
    shows: 'single quotes around fields that hold the delimiter',
    lines: ['code,label,amount', ...rows(10, (i) => `C${i},'Smith, ${CITIES[i % 7]}',${i}.5`)],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: ',',
      quote: "'",
      header: true,
      types: { code: 'string, required', label: 'string, required', amount: 'decimal (point), required' },
    },
  },
  {
    name: '09-backslash-escape.csv',
    shows: 'backslash-escaped quotes inside quoted fields (as MySQL exports them)',
    lines: ['id,comment,score', ...rows(10, (i) => `${i + 1},"said \\"hi, there\\" ${i}",${i * 2}`)],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: ',',
      escape: '\\',
      header: true,
      types: { id: 'integer, required', comment: 'string, required', score: 'integer, required' },
    },
  },
  {
    name: '10-no-quoting.csv',
    shows: 'quote characters that are data: inches written 24" after a closing quote, so quoting must be off',
    lines: ['item,size,count', ...rows(10, (i) => `"Monitor" model ${i},${20 + i}" wide,${i + 1}`)],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: ',',
      quote: '',
      escape: '',
      header: true,
      types: { item: 'string, required', size: 'string, required', count: 'integer, required' },
    },
  },
  {
    name: '11-cr-only.csv',
    shows: 'old Mac line ends: a lone CR',
    lines: ['a_id,b_value', ...rows(10, (i) => `X${i},${i * 100}`)],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'CR',
      delimiter: ',',
      header: true,
      types: { a_id: 'string, required', b_value: 'integer, required' },
    },
  },
  {
    name: '12-embedded-newlines.csv',
    shows: 'quoted fields holding line breaks and doubled quotes',
    lines: ['ticket,body,priority', ...rows(10, (i) => `T-${i},"Line one of ${i}\nLine two with ""quotes""",${['low', 'high'][i % 2]}`)],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: ',',
      header: true,
      types: { ticket: 'string, required', body: 'string, required', priority: 'enum "high", "low", required' },
    },
  },
  {
    name: '13-tab-thousands-comma.tsv',
    shows: 'US numbers with thousands commas (tab-separated, so unquoted), integers with thousands',
    lines: [
      'region\trevenue\tunits',
      ...rows(10, (i) => `R${i}\t${(i + 1) * 3},${pad((i * 37) % 1000, 3)}.${pad(i)}\t${i + 1},${pad((i * 13) % 1000, 3)}`),
    ],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: '\t',
      header: true,
      types: {
        region: 'string, required',
        revenue: 'decimal (point, thousands ","), required',
        units: 'integer (thousands ","), required',
      },
    },
  },
  {
    name: '14-identifiers-as-text.csv',
    shows: 'digits that are identifiers: leading zeros (postcodes), more than 15 digits (card-like numbers)',
    lines: ['postcode,account,balance', ...rows(10, (i) => `0${1000 + i},${'4'.repeat(10)}${pad(i, 8)},${i - 5}`)],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: ',',
      header: true,
      types: { postcode: 'string, required', account: 'string, required', balance: 'integer, required' },
    },
  },
  {
    name: '15-null-tokens.csv',
    shows: 'N/A, - and empty cells as null values: those columns are not required',
    lines: [
      'id,note,weight,checked_on',
      ...rows(12, (i) => `${i},${i % 3 ? `note ${i}` : 'N/A'},${i % 4 ? `${i}.5` : '-'},${i % 5 ? `2026-01-${pad(i + 1)}` : ''}`),
    ],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: ',',
      header: true,
      nullValues: ['', 'N/A', '-'],
      types: { id: 'integer, required', note: 'string', weight: 'decimal (point)', checked_on: 'date' },
    },
  },
  {
    name: '16-uppercase-email.csv',
    shows: 'e-mail addresses in mixed case: the mapping lowercases them',
    lines: ['contact,EMAIL', ...rows(10, (i) => `Person ${i},Person.${i}@Example.COM`)],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: ',',
      header: true,
      types: { contact: 'string, required', EMAIL: 'email, required' },
      outputs: { EMAIL: 'email' },
    },
  },
  {
    name: '17-local-date-times.csv',
    shows: 'ISO date-times without a zone, with a space or a T',
    lines: ['event,at', ...rows(10, (i) => `e${i},2026-03-${pad(i + 1)}${i % 2 ? 'T' : ' '}${pad(i)}:30:00`)],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: ',',
      header: true,
      types: { event: 'string, required', at: 'date-time without zone, required' },
    },
  },
  {
    name: '18-awkward-headers.csv',
    shows: 'column names with spaces, $, parentheses, a leading digit, accents and names that collide once camelCased',
    lines: [
      'Aircraft Make Model,Cost Total $,2024 Total,Total (EUR),total_eur,Straße',
      ...rows(10, (i) => `B73${i},${i + 1}00,${i},${i}.5,${i}.25,Hauptstr. ${i}`),
    ],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: ',',
      header: true,
      types: {
        'Aircraft Make Model': 'string, required',
        'Cost Total $': 'integer, required',
        '2024 Total': 'integer, required',
        'Total (EUR)': 'decimal (point), required',
        total_eur: 'decimal (point), required',
        Straße: 'string, required',
      },
      outputs: {
        'Aircraft Make Model': 'aircraftMakeModel',
        'Cost Total $': 'costTotal',
        '2024 Total': 'field2024Total',
        'Total (EUR)': 'totalEur',
        total_eur: 'totalEur2',
        Straße: 'straße',
      },
    },
  },
  {
    name: '19-backtick-in-header.csv',
    shows: 'a backtick inside a column name: read with $lookup',
    lines: ['key,it`s value', ...rows(6, (i) => `k${i},v${i}`)],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: ',',
      header: true,
      types: { key: 'string, required', 'it`s value': 'string, required' },
    },
  },
  {
    name: '20-day-first-slash.csv',
    shows: 'day-first dates with slashes (a day above 12 decides), in a comma file',
    lines: ['ref,due', ...rows(10, (i) => `r${i},${pad(i + 13)}/${pad((i % 12) + 1)}/2026`)],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: ',',
      header: true,
      types: { ref: 'string, required', due: 'day-first date "/", required' },
    },
  },
  {
    name: '21-ambiguous-dates-comma.csv',
    shows: 'dates where no day is above 12, in a comma file: month-first assumed (and said so)',
    lines: ['ref,when', ...rows(6, (i) => `r${i},${pad(i + 1)}/${pad(i + 3)}/2026`)],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: ',',
      header: true,
      types: { ref: 'string, required', when: 'month-first date "/" (assumed: no day above 12), required' },
    },
  },
  {
    name: '22-ambiguous-dates-semicolon.csv',
    shows: 'the same ambiguous dates in a semicolon file: day-first assumed',
    lines: ['ref;when', ...rows(6, (i) => `r${i};${pad(i + 1)}/${pad(i + 3)}/2026`)],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: ';',
      header: true,
      types: { ref: 'string, required', when: 'day-first date "/" (assumed: no day above 12), required' },
    },
  },
  {
    name: '23-unpadded-dates.csv',
    shows: 'day-first dates without leading zeros (3.1.2026)',
    lines: ['nr;datum', ...rows(10, (i) => `${i};${i + 13}.${(i % 9) + 1}.2026`)],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: ';',
      header: true,
      types: { nr: 'integer, required', datum: 'day-first date ".", required' },
    },
  },
  {
    name: '24-mixed-yes-no.csv',
    shows: 'booleans written Y/N, yes/no and 1/0 in one column; a 0/1-only column stays an integer',
    lines: ['customer,opt_in,flag', ...rows(12, (i) => `c${i},${['Y', 'no', '1', 'N', 'yes', '0'][i % 6]},${i % 2}`)],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: ',',
      header: true,
      types: { customer: 'string, required', opt_in: 'boolean, required', flag: 'integer, required' },
    },
  },
  {
    name: '25-windows-1252-symbols.csv',
    shows: 'windows-1252 punctuation: the euro sign, dashes and curly quotes',
    lines: ['produkt;preis;hinweis', ...rows(8, (i) => `Kaffee ‘Nr. ${i}’;${i + 2},50 €;Sorte – “mild”`)],
    expect: {
      encoding: 'windows-1252',
      lineEnding: 'CRLF',
      delimiter: ';',
      header: true,
      types: { produkt: 'string, required', preis: 'string, required', hinweis: 'enum "Sorte – “mild”", required' },
    },
  },
  {
    name: '26-single-column.csv',
    shows: 'one column, no delimiter at all',
    lines: ['email', ...rows(8, (i) => `member${i}@example.org`)],
    expect: { encoding: 'utf-8', lineEnding: 'LF', delimiter: ',', header: true, types: { email: 'email, required' } },
  },
  {
    name: '27-header-only.csv',
    shows: 'a header and no rows: every column is text, none required',
    lines: ['first_name,last_name,age', ''],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: ',',
      header: true,
      types: { first_name: 'string', last_name: 'string', age: 'string' },
    },
  },
  {
    name: '28-spaces-around-values.csv',
    shows: 'spaces around unquoted values: trimmed',
    lines: ['code , amount , city', ...rows(10, (i) => ` K${i} , ${i}.75 ,  ${CITIES[i % 7]} `)],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: ',',
      header: true,
      trim: true,
      types: { code: 'string, required', amount: 'decimal (point), required', city: 'string, required' },
    },
  },
  {
    name: '29-names-only.csv',
    shows: 'text only, of varying length: the header is found from its distinct names',
    lines: ['first,last,town', 'Ann,Lee,Springfield', 'Bartholomew,Ng,Ely', 'Cy,Vandenberg-Smith,Rome', 'Dorothea,Ito,Vik'],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'LF',
      delimiter: ',',
      header: true,
      types: { first: 'string, required', last: 'string, required', town: 'string, required' },
    },
  },
  {
    name: '30-pipe-crlf-quoted-pipes.csv',
    shows: 'pipes inside quoted fields, CRLF inside quotes, a header',
    lines: ['id|note|amount', ...rows(8, (i) => `${i}|"a | b\r\nc ${i}"|${i}.0`)],
    expect: {
      encoding: 'utf-8',
      lineEnding: 'CRLF',
      delimiter: '|',
      header: true,
      types: { id: 'integer, required', note: 'string, required', amount: 'decimal (point), required' },
    },
  },
];

/** Every corpus file with its bytes. */
export function onboardingCorpus(): CorpusFile[] {
  return SPECS.map((spec) => {
    const text =
      spec.lines.join(EOL[spec.expect.lineEnding]) + (spec.lines[spec.lines.length - 1] === '' ? '' : EOL[spec.expect.lineEnding]);
    return { name: spec.name, shows: spec.shows, bytes: encode(text, spec.expect), expect: spec.expect };
  });
}

function encode(text: string, expect: CorpusExpectation): Buffer {
  switch (expect.encoding) {
    case 'utf-8':
      return Buffer.concat([expect.bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), Buffer.from(text, 'utf8')]);
    case 'utf-16le':
      return Buffer.concat([expect.bom ? Buffer.from([0xff, 0xfe]) : Buffer.alloc(0), Buffer.from(text, 'utf16le')]);
    case 'utf-16be':
      return Buffer.concat([expect.bom ? Buffer.from([0xfe, 0xff]) : Buffer.alloc(0), Buffer.from(text, 'utf16le').swap16()]);
    case 'windows-1252':
      return iconv.encode(text, 'windows-1252');
  }
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  mkdirSync(CORPUS_DIR, { recursive: true });
  for (const file of onboardingCorpus()) writeFileSync(join(CORPUS_DIR, file.name), file.bytes);
  process.stdout.write(`wrote ${SPECS.length} files to ${CORPUS_DIR}\n`);
}
