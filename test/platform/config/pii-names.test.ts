import { describe, expect, it } from 'vitest';
import { loadPlatformConfig } from '../../../platform/config/load-config.js';
import { formatProblem } from '../../../platform/config/problems.js';
import { makeConfigRoot, validFiles, VALID_PARTNER, VALID_SCHEMA } from '../../support/config-root.js';

/** The valid partner with `pii` before its output section. */
function tagged(pii: string, partner = VALID_PARTNER): string {
  return partner.replace('    output:\n', `    pii: ${pii}\n    output:\n`);
}

function problemsOf(files: Record<string, string>): string[] {
  return loadPlatformConfig(makeConfigRoot(files)).problems.map(formatProblem);
}

describe('pii names', () => {
  it('refuses a pii entry that names no output field and no column, at its line and column, with the closest name', () => {
    expect(problemsOf({ ...validFiles(), 'partners/acme.yaml': tagged('[id, ammount, nothing-alike]') })).toEqual([
      'partners/acme.yaml:14:15: pii names "ammount", which is neither an output field (the mapping\'s fields, the schema\'s properties) ' +
        'nor a column (csv.columns, the columns the mapping reads, a sample\'s header), so it would mask nothing; did you mean "amount"? ("ammount")',
      'partners/acme.yaml:14:24: pii names "nothing-alike", which is neither an output field (the mapping\'s fields, the schema\'s properties) ' +
        'nor a column (csv.columns, the columns the mapping reads, a sample\'s header), so it would mask nothing ("nothing-alike")',
    ]);
  });

  it('accepts nested output fields, the objects holding them, schema properties and columns the mapping reads', () => {
    const partner = VALID_PARTNER.replace('csv:\n      columns: [id, amount]\n', 'csv:\n      header: true\n').replace(
      '      amount: $number(amount)\n',
      '      amount: $number(amount)\n      customer.email: $lowercase(mail)\n',
    );
    const schema = JSON.stringify({
      type: 'object',
      properties: {
        id: { type: 'string' },
        amount: { type: 'number' },
        customer: { type: 'object', properties: { email: {}, phone: {} } },
      },
    });
    const files = { 'partners/acme.yaml': tagged('[customer.email, customer, customer.phone, mail]', partner) };
    expect(problemsOf({ ...files, 'mappings/acme/orders.schema.json': schema })).toEqual([]);
    expect(problemsOf({ ...files, 'mappings/acme/orders.schema.json': schema.replace('phone', 'fax') })).toEqual([
      expect.stringMatching(/^partners\/acme\.yaml:15:37: pii names "customer\.phone", .*did you mean "customer"\? \("customer\.phone"\)$/),
    ]);
  });

  it('accepts a column the mapping never reads when a golden sample has it in its header, and names the header columns as the closest', () => {
    const partner = tagged('[ssn]', VALID_PARTNER.replace('csv:\n      columns: [id, amount]\n', 'csv:\n      delimiter: ";"\n'));
    const sample = '\uFEFFid;amount;ssn\nA-1;5;123-45-6789\n';
    const files = {
      'partners/acme.yaml': partner,
      'mappings/acme/orders.schema.json': VALID_SCHEMA,
      'mappings/acme/orders/samples/one.csv': sample,
      'mappings/acme/orders/samples/one.expected.ndjson': '{"id":"A-1","amount":5}\n',
    };
    expect(problemsOf(files)).toEqual([]);
    const renamed = problemsOf({ ...files, 'mappings/acme/orders/samples/one.csv': sample.replace(';ssn', ';tax_ssn') });
    expect(renamed.filter((p) => p.includes('pii'))).toEqual([
      expect.stringMatching(/^partners\/acme\.yaml:14:11: pii names "ssn", .*did you mean "tax_ssn"\? \("ssn"\)$/),
    ]);
  });

  it('checks the names of a whole-object mapping file against its keys and the schema', () => {
    const partner = tagged(
      '[customerEmail, email, emal]',
      VALID_PARTNER.replace('    mapping:\n      id: id\n      amount: $number(amount)\n', '    mappingFile: orders.jsonata\n'),
    );
    const files = {
      'partners/acme.yaml': partner,
      'mappings/acme/orders.schema.json': VALID_SCHEMA,
      'mappings/acme/orders.jsonata': '{ "id": id, "amount": $number(amount), "customerEmail": $lowercase(email) }',
    };
    const problems = problemsOf({
      ...files,
      'partners/acme.yaml': partner.replace('columns: [id, amount]', 'columns: [id, amount, email]'),
    });
    expect(problems).toEqual([
      expect.stringMatching(/^partners\/acme\.yaml:12:33: pii names "emal", .*did you mean "email"\? \("emal"\)$/),
    ]);
  });
});
