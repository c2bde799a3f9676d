import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadPlatformConfig, requireValidConfig } from '../../../platform/config/load-config.js';
import { ConfigError, formatProblem } from '../../../platform/config/problems.js';
import { makeConfigRoot, validFiles, VALID_PARTNER } from '../../support/config-root.js';
import { ENCODINGS } from '../../../lambdas/transformer/model.js';

const REPO = join(import.meta.dirname, '../../..');

function problemsOf(files: Record<string, string>): string[] {
  return loadPlatformConfig(makeConfigRoot(files)).problems.map(formatProblem);
}

function withPartner(yaml: string, extra: Record<string, string> = {}): string[] {
  return problemsOf({ ...validFiles(), 'partners/acme.yaml': yaml, ...extra });
}

describe('the repository configuration', () => {
  it('loads with no problem at all', () => {
    const { config, problems } = loadPlatformConfig(REPO);
    expect(problems.map(formatProblem)).toEqual([]);
    expect(config.partners.map((p) => p.id)).toEqual(['acme', 'globex', 'muller']);
  });

  it('the editor schema offers exactly the encodings the engine decodes', () => {
    const schema = JSON.parse(readFileSync(join(REPO, 'platform/config/partner.schema.json'), 'utf8'));
    expect(schema.definitions.feed.properties.csv.properties.encoding.enum).toEqual([...ENCODINGS]);
  });

  it('every partner file validates against the editor schema it points at', () => {
    const schema = JSON.parse(readFileSync(join(REPO, 'platform/config/partner.schema.json'), 'utf8'));
    const validate = new Ajv({ strict: true }).compile(schema);
    for (const id of ['acme', 'globex', 'muller']) {
      const text = readFileSync(join(REPO, `partners/${id}.yaml`), 'utf8');
      expect(text.startsWith('# yaml-language-server: $schema=../platform/config/partner.schema.json')).toBe(true);
      expect(validate(parse(text))).toBe(true);
    }
  });
});

describe('defaults and model', () => {
  it('applies every documented default', () => {
    const { config } = loadPlatformConfig(makeConfigRoot(validFiles()));
    const feed = config.partners[0]!.feeds[0]!;
    expect(feed).toMatchObject({
      partner: 'acme',
      id: 'orders',
      source: { prefix: 'acme/orders/', suffix: '.csv' },
      csv: { delimiter: ',', quote: '"', escape: '"', encoding: 'utf-8', header: true, skipLines: 0, trim: false, nullValues: [''] },
      output: { dataset: 'orders', format: 'ndjson' },
      errors: { maxRejectedPercent: 0 },
      maxFileMiB: 2048,
      concurrency: 5,
    });
    expect(feed.mapping).toEqual({
      kind: 'fields',
      fields: [
        { name: 'id', path: ['id'], expression: 'id' },
        { name: 'amount', path: ['amount'], expression: '$number(amount)' },
      ],
    });
  });

  it('keeps the YAML order of output fields, numeric-looking names included', () => {
    const yaml = VALID_PARTNER.replace('      id: id\n', '      id: id\n      "2024": "1"\n      b.c: "2"\n');
    const { config } = loadPlatformConfig(makeConfigRoot({ ...validFiles(), 'partners/acme.yaml': yaml }));
    const mapping = config.partners[0]!.feeds[0]!.mapping;
    expect(mapping.kind === 'fields' && mapping.fields.map((f) => f.name)).toEqual(['id', '2024', 'b.c', 'amount']);
  });

  it('reads "\\t" written in single quotes as a tab delimiter', () => {
    const yaml = VALID_PARTNER.replace('    csv:\n', "    csv:\n      delimiter: '\\t'\n");
    const { config, problems } = loadPlatformConfig(makeConfigRoot({ ...validFiles(), 'partners/acme.yaml': yaml }));
    expect(problems).toEqual([]);
    expect(config.partners[0]!.feeds[0]!.csv.delimiter).toBe('\t');
  });
});

describe('problems, each with file, line, column, message and value', () => {
  it('reports an unknown key with the keys allowed there', () => {
    expect(withPartner(VALID_PARTNER.replace('    schema:', '    shema: x.json\n    schema:'))).toEqual([
      'partners/acme.yaml:13:5: unknown key "shema" in feeds[0]; allowed here: id, description, source, csv, mapping, mappingFile, schema, output, pii, errors, maxFileMiB, concurrency, split, schedule ("shema")',
    ]);
  });

  it('reports a bad partner id and an id that differs from the file name', () => {
    expect(withPartner(VALID_PARTNER.replace('id: acme', 'id: Acme'))).toContain(
      'partners/acme.yaml:1:5: id must be lowercase letters, digits and "-", starting with a letter ("Acme")',
    );
    expect(withPartner(VALID_PARTNER.replace('id: acme', 'id: acme-corp'))).toContain(
      'partners/acme.yaml:1:5: the file name must be the partner id: rename the file to partners/acme-corp.yaml or change id ("acme-corp")',
    );
  });

  it('reports a missing required key at its parent', () => {
    expect(withPartner(VALID_PARTNER.replace('    output:\n      dataset: orders\n', ''))).toEqual([
      'partners/acme.yaml:5:5: feeds[0] is missing required key "output"',
    ]);
  });

  it('reports values out of range and of the wrong type', () => {
    const yaml = `${VALID_PARTNER}    concurrency: 1\n    maxFileMiB: big\n    errors:\n      maxRejectedPercent: 101\n`;
    expect(withPartner(yaml)).toEqual([
      'partners/acme.yaml:16:18: feeds[0].concurrency must be >= 2 (1)',
      'partners/acme.yaml:17:17: feeds[0].maxFileMiB must be integer ("big")',
      'partners/acme.yaml:19:27: feeds[0].errors.maxRejectedPercent must be <= 100 (101)',
    ]);
  });

  it('reports an unknown encoding with the allowed ones', () => {
    expect(withPartner(VALID_PARTNER.replace('    csv:\n', '    csv:\n      encoding: ebcdic\n'))).toEqual([
      'partners/acme.yaml:9:17: feeds[0].csv.encoding must be one of utf-8, utf-16le, utf-16be, latin1, windows-1252 ("ebcdic")',
    ]);
  });

  it('requires columns when header is false', () => {
    const yaml = VALID_PARTNER.replace('    csv:\n      columns: [id, amount]\n', '    csv:\n      header: false\n');
    expect(withPartner(yaml)).toEqual([
      'partners/acme.yaml:9:7: `columns` is required when `header` is false: list the column names in file order',
    ]);
  });

  it('refuses a two-character delimiter and a delimiter equal to the quote', () => {
    expect(withPartner(VALID_PARTNER.replace('    csv:\n', '    csv:\n      delimiter: ";;"\n'))).toEqual([
      'partners/acme.yaml:9:18: delimiter must be one character, or "\\t" for tab (";;")',
    ]);
    expect(withPartner(VALID_PARTNER.replace('    csv:\n', '    csv:\n      delimiter: "\'"\n      quote: "\'"\n'))).toEqual([
      'partners/acme.yaml:10:14: quote and delimiter must differ ("\'")',
    ]);
  });

  it('requires exactly one of mapping and mappingFile', () => {
    const both = VALID_PARTNER.replace('    schema:', '    mappingFile: orders.jsonata\n    schema:');
    expect(withPartner(both, { 'mappings/acme/orders.jsonata': '{"id": id, "amount": 1}' })).toEqual([
      'partners/acme.yaml:5:5: a feed needs exactly one of `mapping` (field -> expression) and `mappingFile` (one .jsonata file)',
    ]);
  });

  it('reports an expression that does not compile at the exact line and column of the problem, with the expression', () => {
    expect(withPartner(VALID_PARTNER.replace('$number(amount)', '$number(amount'))).toEqual([
      'partners/acme.yaml:12:28: JSONata: Expected ")" before end of expression [S0203] ("$number(amount")',
    ]);
  });

  it('reports a mapping file that does not compile at its own line and column', () => {
    const yaml = VALID_PARTNER.replace(/ {4}mapping:\n.*\n.*\n/, '    mappingFile: orders.jsonata\n');
    expect(withPartner(yaml, { 'mappings/acme/orders.jsonata': '{\n  "id": id,\n  "amount": $number(amount\n}' })).toEqual([
      'mappings/acme/orders.jsonata:4:1: JSONata: Expected ")", got "}" [S0202] ("r(amount }")',
    ]);
  });

  it('reports regexes the linear-time engine cannot run: in a mapping, a mapping file and a schema, each where it is written', () => {
    const inMapping = VALID_PARTNER.replace('id: id\n', 'id: $replace(id, /(\\d)\\1/, "")\n');
    expect(withPartner(inMapping)).toEqual([
      'partners/acme.yaml:11:24: JSONata: regex /(\\d)\\1/ uses the backreference \\1, which cannot run in linear time; ' +
        'regexes run on RE2, which has no backreferences or lookaround: rewrite the pattern without it ("$replace(id, /(\\\\d)\\\\1/, \\"\\")")',
    ]);
    const yaml = VALID_PARTNER.replace(/ {4}mapping:\n.*\n.*\n/, '    mappingFile: orders.jsonata\n');
    const file = '{\n  "id": $match(id, /a(?=b)/i).match,\n  "amount": 1\n}';
    expect(withPartner(yaml, { 'mappings/acme/orders.jsonata': file })[0]).toMatch(
      /^mappings\/acme\/orders\.jsonata:2:20: JSONata: regex \/a\(\?=b\)\/i uses the lookahead \(\?=, which cannot run in linear time/,
    );
    const schema =
      '{\n  "type": "object",\n  "properties": {\n    "id": { "type": "string", "pattern": "^(?<!x)a" },\n' +
      '    "amount": { "type": "number" }\n  },\n  "patternProperties": { "(a)\\\\1": {} }\n}';
    expect(withPartner(VALID_PARTNER, { 'mappings/acme/orders.schema.json': schema })).toEqual([
      'mappings/acme/orders.schema.json:4:42: regex /^(?<!x)a/u uses the negative lookbehind (?<!, which cannot run in linear time; ' +
        'regexes run on RE2, which has no backreferences or lookaround: rewrite the pattern without it ("^(?<!x)a")',
      'mappings/acme/orders.schema.json:7:26: regex /(a)\\1/u uses the backreference \\1, which cannot run in linear time; ' +
        'regexes run on RE2, which has no backreferences or lookaround: rewrite the pattern without it ("(a)\\\\1")',
    ]);
  });

  it('reports referenced files that do not exist', () => {
    expect(withPartner(VALID_PARTNER.replace('orders.schema.json', 'nope.schema.json'))).toEqual([
      'partners/acme.yaml:13:13: file mappings/acme/nope.schema.json does not exist ("nope.schema.json")',
    ]);
  });

  it('refuses file names that would leave mappings/<partner>/', () => {
    expect(withPartner(VALID_PARTNER.replace('orders.schema.json', '../../etc/passwd.json'))).toEqual([
      'partners/acme.yaml:13:13: feeds[0].schema must be a .json file name in mappings/<partner>/ ("../../etc/passwd.json")',
    ]);
  });

  it('reports a schema that is not JSON at its line and column, and one that is not a valid schema', () => {
    expect(withPartner(VALID_PARTNER, { 'mappings/acme/orders.schema.json': '{\n  "type": "object",\n}' })[0]).toMatch(
      /^mappings\/acme\/orders\.schema\.json:3:1: not valid JSON: /,
    );
    expect(withPartner(VALID_PARTNER, { 'mappings/acme/orders.schema.json': '{"type": "object", "requird": ["id"]}' })).toEqual([
      'mappings/acme/orders.schema.json:1:1: not a valid JSON Schema 2020-12: strict mode: unknown keyword: "requird"',
    ]);
  });

  it('reports a required output field that the mapping does not produce', () => {
    const schema = JSON.stringify({ type: 'object', required: ['id', 'amount', 'currency'] });
    expect(withPartner(VALID_PARTNER, { 'mappings/acme/orders.schema.json': schema })).toEqual([
      'partners/acme.yaml:11:7: the schema requires /currency but the mapping does not produce it (schema orders.schema.json)',
    ]);
  });

  it('checks required fields inside nested objects built from dotted names', () => {
    const schema = JSON.stringify({
      type: 'object',
      properties: { customer: { type: 'object', required: ['email', 'name'] } },
    });
    const yaml = VALID_PARTNER.replace('      id: id\n', '      id: id\n      customer.email: "1"\n');
    expect(withPartner(yaml, { 'mappings/acme/orders.schema.json': schema })).toEqual([
      'partners/acme.yaml:11:7: the schema requires /customer/name but the mapping does not produce it (schema orders.schema.json)',
    ]);
  });

  it('warns where required fields cannot be checked statically', () => {
    const yaml = VALID_PARTNER.replace(/ {4}mapping:\n.*\n.*\n/, '    mappingFile: orders.jsonata\n');
    const problems = withPartner(yaml, { 'mappings/acme/orders.jsonata': '$merge([{"id": id}, {"amount": 1}])' });
    expect(problems).toEqual([
      'partners/acme.yaml:10:18: warning: cannot tell statically whether the mapping produces the required fields id, amount: it is not an object constructor with literal keys',
    ]);
  });

  it('checks required fields of an object-constructor mapping file', () => {
    const yaml = VALID_PARTNER.replace(/ {4}mapping:\n.*\n.*\n/, '    mappingFile: orders.jsonata\n');
    expect(withPartner(yaml, { 'mappings/acme/orders.jsonata': '( $x := 1; {"id": id} )' })).toEqual([
      'partners/acme.yaml:10:18: the schema requires /amount but the mapping does not produce it (schema orders.schema.json)',
    ]);
  });

  it('refuses output names that reach Object.prototype and names both leaf and parent', () => {
    const yaml = VALID_PARTNER.replace('      id: id\n', '      id: id\n      __proto__.polluted: "1"\n      id.sub: "2"\n');
    expect(withPartner(yaml)).toEqual([
      'partners/acme.yaml:12:7: output field name may not use "__proto__": pick another name ("__proto__.polluted")',
      'partners/acme.yaml:13:7: "id" is both a field and the parent of "id.sub": rename one of them ("id.sub")',
    ]);
  });

  it('reports duplicate feed ids and YAML duplicate keys', () => {
    const twice = `${VALID_PARTNER}  - id: orders\n    source: { prefix: acme/other/ }\n    mapping: { id: id, amount: "1" }\n    schema: orders.schema.json\n    output: { dataset: o }\n`;
    expect(withPartner(twice)).toEqual([
      'partners/acme.yaml:16:9: feed id is already used by feeds[0]; feed ids must be unique within a partner ("orders")',
    ]);
    expect(withPartner(VALID_PARTNER.replace('name: ACME', 'name: ACME\nname: Again'))[0]).toMatch(
      /^partners\/acme\.yaml:3:1: YAML: Map keys must be unique/,
    );
  });

  it('refuses a YAML file that expands too many aliases', () => {
    const bomb = `${VALID_PARTNER}x0: &a [1,1,1,1,1,1,1,1,1,1]\nx1: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nx2: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nx3: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n`;
    expect(withPartner(bomb)[0]).toMatch(/^partners\/acme\.yaml:1:1: YAML: Excessive alias count/);
  });

  it('reports overlapping prefixes across partners, once per pair, besides the prefix that leaves its partner', () => {
    const other = VALID_PARTNER.replace(/acme/g, 'beta').replace('prefix: beta/orders/', 'prefix: acme/orders/eu/');
    const problems = problemsOf({
      ...validFiles(),
      'partners/beta.yaml': other,
      'mappings/beta/orders.schema.json': validFiles()['mappings/acme/orders.schema.json']!,
    });
    expect(problems).toEqual([
      'partners/acme.yaml:7:15: source prefix of acme/orders is a prefix of the prefix of beta/orders (acme/orders/eu/); a key must belong to exactly one feed ("acme/orders/")',
      'partners/beta.yaml:7:15: source prefix must begin with the partner id: beta/ (e.g. beta/orders/); a partner receives files only under its own prefix ("acme/orders/eu/")',
    ]);
  });

  it('refuses files in partners/ that are not <id>.yaml', () => {
    expect(problemsOf({ ...validFiles(), 'partners/notes.txt': 'hello' })).toEqual([
      'partners/notes.txt:1:1: partners/ holds only <partner-id>.yaml files; move or rename this one',
    ]);
  });

  it('reports every problem of every file in one run', () => {
    const broken = VALID_PARTNER.replace('owner: data@example.com', 'owner: nobody')
      .replace('$number(amount)', '$number(')
      .replace('dataset: orders', 'dataset: Orders');
    const problems = withPartner(broken, { 'partners/zed.yaml': 'id: zed\n' });
    expect(problems).toEqual([
      'partners/acme.yaml:3:8: owner must be an e-mail address ("nobody")',
      'partners/acme.yaml:12:22: JSONata: Expected ")" before end of expression [S0203] ("$number(")',
      'partners/acme.yaml:15:16: feeds[0].output.dataset must be lowercase letters, digits, "_" and "-", starting with a letter ("Orders")',
      'partners/zed.yaml:1:1: the file is missing required key "name"',
      'partners/zed.yaml:1:1: the file is missing required key "owner"',
      'partners/zed.yaml:1:1: the file is missing required key "feeds"',
    ]);
  });

  it('makes requireValidConfig throw a ConfigError with the same messages', () => {
    const root = makeConfigRoot({ ...validFiles(), 'partners/acme.yaml': VALID_PARTNER.replace('id: orders', 'id: Orders') });
    expect(() => requireValidConfig(root)).toThrow(ConfigError);
    expect(() => requireValidConfig(root)).toThrow(
      'partners/acme.yaml:5:9: feeds[0].id must be lowercase letters, digits and "-", starting with a letter ("Orders")',
    );
  });
});

describe('columns the mapping reads', () => {
  it('must be declared when columns are, reported at the name inside the expression with the closest declared column', () => {
    const yaml = VALID_PARTNER.replace(
      '      amount: $number(amount)\n',
      '      amount: $number(amount)\n      total: $number(ammount) * 2\n',
    );
    expect(withPartner(yaml)).toEqual([
      'partners/acme.yaml:13:22: the mapping reads column "ammount", which is not in csv.columns; did you mean "amount"? ' +
        '(add it to csv.columns, or to csv.optionalColumns if files may lack it) ("ammount")',
    ]);
  });

  it('accepts a column declared optional, and warns about an optional column nothing reads', () => {
    const yaml = VALID_PARTNER.replace(
      '      columns: [id, amount]\n',
      '      columns: [id, amount]\n      optionalColumns: [note, unused]\n',
    ).replace('      amount: $number(amount)\n', '      amount: $number(amount)\n      note: note\n');
    const { config, problems } = loadPlatformConfig(makeConfigRoot({ ...validFiles(), 'partners/acme.yaml': yaml }));
    expect(problems.map(formatProblem)).toEqual([
      'partners/acme.yaml:10:31: warning: optionalColumns lists "unused", which the mapping never reads',
    ]);
    expect(config.partners[0]!.feeds[0]!.csv.optionalColumns).toEqual(['note', 'unused']);
  });

  it('refuses optionalColumns without a header and a column both declared and optional', () => {
    const noHeader = VALID_PARTNER.replace(
      '      columns: [id, amount]\n',
      '      header: false\n      columns: [id, amount]\n      optionalColumns: [note]\n',
    );
    expect(withPartner(noHeader)[0]).toBe(
      'partners/acme.yaml:11:24: optionalColumns needs a header: with header: false the columns are the file\'s, by position (["note"])',
    );
    const both = VALID_PARTNER.replace('      columns: [id, amount]\n', '      columns: [id, amount]\n      optionalColumns: [amount]\n');
    expect(withPartner(both)).toEqual([
      'partners/acme.yaml:10:25: a column is either in columns (files must have it) or in optionalColumns (files may lack it), not both ("amount")',
    ]);
  });

  it('without a header, must be one of the columns', () => {
    const yaml = VALID_PARTNER.replace('      columns: [id, amount]\n', '      header: false\n      columns: [id, amount]\n').replace(
      '      id: id\n',
      '      id: idd\n',
    );
    expect(withPartner(yaml)).toEqual([
      'partners/acme.yaml:12:11: the mapping reads column "idd", which is not in csv.columns; did you mean "id"? ' +
        '(with header: false a row has only the columns listed there) ("idd")',
    ]);
  });

  it('are reported in a mapping file at their own line and column', () => {
    const yaml = VALID_PARTNER.replace(/ {4}mapping:\n.*\n.*\n/, '    mappingFile: orders.jsonata\n');
    expect(withPartner(yaml, { 'mappings/acme/orders.jsonata': '{\n  "id": id,\n  "amount": $number(`amount EUR`)\n}' })).toEqual([
      'mappings/acme/orders.jsonata:3:21: the mapping reads column "amount EUR", which is not in csv.columns; did you mean "amount"? ' +
        '(add it to csv.columns, or to csv.optionalColumns if files may lack it) ("amount EUR")',
    ]);
  });
});

describe('JSONata errors inside YAML strings', () => {
  const withAmount = (value: string) => VALID_PARTNER.replace('      amount: $number(amount)\n', `      amount: ${value}\n`);

  it('point at the exact line and column inside a literal block scalar', () => {
    const block = '|\n        (\n          $x := $number(amount);\n          $x > 0 ? $x : $error("negative"\n        )\n';
    expect(withPartner(withAmount(block))).toEqual([
      'partners/acme.yaml:16:9: JSONata: Expected ")" before end of expression [S0203] ' +
        '("(\\n  $x := $number(amount);\\n  $x > 0 ? $x : $error(\\"negative\\"\\n)\\n")',
    ]);
  });

  it('point at the exact column inside quotes and folded blocks', () => {
    expect(withPartner(withAmount('"$number(amount) +"'))[0]).toMatch(/^partners\/acme\.yaml:12:32: JSONata: Unexpected end of expression/);
    expect(withPartner(withAmount('>\n        $number(amount)\n        + * 2\n'))[0]).toMatch(
      /^partners\/acme\.yaml:14:13: JSONata: Syntax error: 2/,
    );
  });
});
