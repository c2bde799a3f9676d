/**
 * Versioned output contracts: a feed's schema carries a semver (`x-version`, or the suffix of its
 * `$id`), and a change to the schema must move it. A breaking change (a field removed, a type
 * narrowed, a new required field, an enum value removed) needs a major bump; any other change (an
 * optional field added, a type widened, a constraint changed) at least a minor one.
 */

export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly text: string;
}

const SEMVER = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;
/** `$id` ending in `/1.2.0`, `/v1.2.0`, `-1.2.0` or `@1.2.0` (optionally followed by `.json`). */
const ID_SUFFIX = /[/@-]v?((?:0|[1-9]\d{0,8})\.(?:0|[1-9]\d{0,8})\.(?:0|[1-9]\d{0,8}))(?:\.schema)?(?:\.json)?$/;

export function parseSemVer(text: string): SemVer | undefined {
  const m = SEMVER.exec(text);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text } : undefined;
}

/** A schema's version: `x-version` when present (it must be semver), else the `$id` suffix; `undefined` when neither. */
export function schemaVersion(schema: unknown): { version?: SemVer; problem?: string } {
  if (!isObject(schema)) return {};
  const declared = schema['x-version'];
  if (declared !== undefined) {
    const version = typeof declared === 'string' ? parseSemVer(declared) : undefined;
    return version
      ? { version }
      : { problem: `x-version must be a semantic version MAJOR.MINOR.PATCH, like "1.0.0" (${JSON.stringify(declared)})` };
  }
  const id = schema.$id;
  if (typeof id === 'string') {
    const m = ID_SUFFIX.exec(id);
    if (m) return { version: parseSemVer(m[1]!)! };
  }
  return {};
}

export function compareSemVer(a: SemVer, b: SemVer): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

export type ChangeKind = 'breaking' | 'compatible';

export interface SchemaChange {
  readonly kind: ChangeKind;
  /** The JSON pointer of the field in the output record (`/customer/email`), `/` for the record. */
  readonly field: string;
  readonly description: string;
}

/** Keywords that carry no contract: a change to them needs no bump. */
const ANNOTATIONS = new Set(['title', 'description', '$comment', 'examples', 'x-version', '$id', '$schema', 'default', 'deprecated']);

/** Every change from `base` to `head`, each classified. */
export function classifySchemaChanges(base: unknown, head: unknown): SchemaChange[] {
  const changes: SchemaChange[] = [];
  compareNode(base, head, '', changes);
  return changes;
}

function compareNode(base: unknown, head: unknown, field: string, changes: SchemaChange[]): void {
  const at = field || '/';
  if (!isObject(base) || !isObject(head)) {
    if (JSON.stringify(base) !== JSON.stringify(head)) changes.push({ kind: 'breaking', field: at, description: 'schema replaced' });
    return;
  }
  // types
  const baseTypes = typesOf(base);
  const headTypes = typesOf(head);
  if (baseTypes && headTypes) {
    // integer is a kind of number: number -> integer narrows, integer -> number widens
    const lost = [...baseTypes].filter((t) => !headTypes.has(t) && !(t === 'integer' && headTypes.has('number')));
    const gained = [...headTypes].filter((t) => !baseTypes.has(t) && !(t === 'integer' && baseTypes.has('number')));
    if (lost.length > 0) {
      changes.push({
        kind: 'breaking',
        field: at,
        description: `type narrowed: ${[...baseTypes].join('|')} -> ${[...headTypes].join('|')}`,
      });
    } else if (gained.length > 0) {
      changes.push({
        kind: 'compatible',
        field: at,
        description: `type widened: ${[...baseTypes].join('|')} -> ${[...headTypes].join('|')}`,
      });
    }
  } else if (!baseTypes && headTypes) {
    changes.push({ kind: 'breaking', field: at, description: `type narrowed: any -> ${[...headTypes].join('|')}` });
  } else if (baseTypes && !headTypes) {
    changes.push({ kind: 'compatible', field: at, description: `type widened: ${[...baseTypes].join('|')} -> any` });
  }
  // enums
  const baseEnum = enumOf(base);
  const headEnum = enumOf(head);
  if (baseEnum && headEnum) {
    const removed = baseEnum.filter((v) => !headEnum.includes(v));
    const added = headEnum.filter((v) => !baseEnum.includes(v));
    if (removed.length > 0)
      changes.push({
        kind: 'breaking',
        field: at,
        description: `enum value${removed.length > 1 ? 's' : ''} removed: ${removed.join(', ')}`,
      });
    if (added.length > 0)
      changes.push({ kind: 'compatible', field: at, description: `enum value${added.length > 1 ? 's' : ''} added: ${added.join(', ')}` });
  } else if (!baseEnum && headEnum) {
    changes.push({ kind: 'breaking', field: at, description: `values restricted to an enum: ${headEnum.join(', ')}` });
  } else if (baseEnum && !headEnum) {
    changes.push({ kind: 'compatible', field: at, description: 'enum lifted' });
  }
  // fields
  const baseProps = isObject(base.properties) ? base.properties : {};
  const headProps = isObject(head.properties) ? head.properties : {};
  const baseRequired = new Set(Array.isArray(base.required) ? (base.required as string[]) : []);
  const headRequired = new Set(Array.isArray(head.required) ? (head.required as string[]) : []);
  for (const name of Object.keys(baseProps)) {
    const child = `${field}/${escapePointer(name)}`;
    if (!(name in headProps)) changes.push({ kind: 'breaking', field: child, description: 'field removed' });
    else compareNode(baseProps[name], headProps[name], child, changes);
  }
  for (const name of Object.keys(headProps)) {
    if (name in baseProps) continue;
    const child = `${field}/${escapePointer(name)}`;
    if (headRequired.has(name)) changes.push({ kind: 'breaking', field: child, description: 'new required field' });
    else changes.push({ kind: 'compatible', field: child, description: 'optional field added' });
  }
  for (const name of headRequired) {
    if (name in baseProps && !baseRequired.has(name)) {
      changes.push({ kind: 'breaking', field: `${field}/${escapePointer(name)}`, description: 'field now required' });
    }
  }
  for (const name of baseRequired) {
    if (!headRequired.has(name) && name in headProps) {
      changes.push({ kind: 'compatible', field: `${field}/${escapePointer(name)}`, description: 'field now optional' });
    }
  }
  if (base.items !== undefined || head.items !== undefined) compareNode(base.items ?? {}, head.items ?? {}, `${field}/items`, changes);
  // every other keyword (constraints, formats, patterns...): a change needs at least a minor bump
  const handled = new Set(['type', 'enum', 'const', 'properties', 'required', 'items']);
  const keys = new Set([...Object.keys(base), ...Object.keys(head)]);
  for (const key of keys) {
    if (handled.has(key) || ANNOTATIONS.has(key)) continue;
    if (JSON.stringify(base[key]) !== JSON.stringify(head[key])) {
      changes.push({ kind: 'compatible', field: at, description: `${key} changed: ${short(base[key])} -> ${short(head[key])}` });
    }
  }
}

/** What a version change must be for the changes: `undefined` when it is enough. */
export function missingBump(base: SemVer, head: SemVer, changes: readonly SchemaChange[]): string | undefined {
  if (compareSemVer(head, base) < 0) return `the version went down (${base.text} -> ${head.text})`;
  if (changes.some((c) => c.kind === 'breaking')) {
    return head.major > base.major
      ? undefined
      : `a breaking change needs a major bump (${base.text} -> ${head.text}; at least ${base.major + 1}.0.0)`;
  }
  if (changes.length > 0) {
    return head.major > base.major || head.minor > base.minor
      ? undefined
      : `a compatible change needs a minor bump (${base.text} -> ${head.text}; at least ${base.major}.${base.minor + 1}.0)`;
  }
  return undefined;
}

function typesOf(node: Record<string, unknown>): Set<string> | undefined {
  if (typeof node.type === 'string') return new Set([node.type]);
  if (Array.isArray(node.type)) return new Set(node.type.filter((t): t is string => typeof t === 'string'));
  return undefined;
}

function enumOf(node: Record<string, unknown>): string[] | undefined {
  if (Array.isArray(node.enum)) return node.enum.map((v) => JSON.stringify(v));
  if ('const' in node) return [JSON.stringify(node.const)];
  return undefined;
}

function escapePointer(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

function short(value: unknown): string {
  const text = value === undefined ? '(none)' : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
