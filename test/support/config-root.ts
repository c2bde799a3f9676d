import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A config root in a fresh temporary folder: path -> file content. */
export function makeConfigRoot(files: Record<string, string | Uint8Array>): string {
  const root = mkdtempSync(join(tmpdir(), 'partner-etl-config-'));
  mkdirSync(join(root, 'partners'), { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

/** A small valid partner: `acme` with one feed `orders` under `acme/orders/`. */
export const VALID_PARTNER = `id: acme
name: ACME
owner: data@example.com
feeds:
  - id: orders
    source:
      prefix: acme/orders/
    csv:
      columns: [id, amount]
    mapping:
      id: id
      amount: $number(amount)
    schema: orders.schema.json
    output:
      dataset: orders
`;

export const VALID_SCHEMA = JSON.stringify({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['id', 'amount'],
  properties: { id: { type: 'string' }, amount: { type: 'number' } },
});

/** The files of a valid root, to be overridden by a test. */
export function validFiles(): Record<string, string> {
  return { 'partners/acme.yaml': VALID_PARTNER, 'mappings/acme/orders.schema.json': VALID_SCHEMA };
}
