import jsonata from 'jsonata';
import type { FieldMappingConfig } from '../../lambdas/transformer/model.js';

/**
 * What a mapping is known to produce: a tree of output names. `undefined` means the shape cannot be
 * decided without running the mapping (an expression that is not an object constructor).
 */
export type ProducedTree = Map<string, ProducedTree | 'value'> | undefined;

export interface RequiredFinding {
  readonly severity: 'error' | 'warning';
  readonly message: string;
}

/** The tree of a field-by-field mapping: `customer.email` produces `customer` holding `email`. */
export function fieldTree(fields: readonly Pick<FieldMappingConfig, 'path'>[]): ProducedTree {
  const root: Map<string, ProducedTree | 'value'> = new Map();
  for (const { path } of fields) {
    let node = root;
    path.forEach((segment, i) => {
      if (i === path.length - 1) {
        node.set(segment, 'value');
        return;
      }
      let next = node.get(segment);
      if (!(next instanceof Map)) {
        next = new Map();
        node.set(segment, next);
      }
      node = next;
    });
  }
  return root;
}

interface AstNode {
  type: string;
  value?: unknown;
  lhs?: unknown;
  expressions?: AstNode[];
}

/** The tree of a whole-object expression, when it is an object constructor with literal keys (maybe inside a block). */
export function expressionTree(expression: string): ProducedTree {
  return objectTree(jsonata(expression).ast() as AstNode);
}

function objectTree(node: AstNode | undefined): ProducedTree {
  if (!node) return undefined;
  if (node.type === 'block' && node.expressions?.length) return objectTree(node.expressions[node.expressions.length - 1]);
  if (node.type !== 'unary' || node.value !== '{' || !Array.isArray(node.lhs)) return undefined;
  const tree: Map<string, ProducedTree | 'value'> = new Map();
  for (const [key, value] of node.lhs as [AstNode, AstNode][]) {
    if (key.type !== 'string') return undefined;
    tree.set(String(key.value), objectTree(value) ?? 'value');
  }
  return tree;
}

const UNDECIDABLE = ['$ref', 'allOf', 'anyOf', 'oneOf', 'if', 'dependentRequired', 'dependentSchemas'];

/**
 * Checks that every property the schema requires is produced by the mapping, at every level the
 * mapping builds. Reports a warning where the schema or the mapping cannot be read statically.
 */
export function checkProducedFields(schema: Record<string, unknown>, produced: ProducedTree): RequiredFinding[] {
  const findings: RequiredFinding[] = [];
  if (produced === undefined) {
    if (Array.isArray(schema.required) && schema.required.length > 0) {
      findings.push({
        severity: 'warning',
        message: `cannot tell statically whether the mapping produces the required fields ${schema.required.join(', ')}: it is not an object constructor with literal keys`,
      });
    }
    return findings;
  }
  walk(schema, produced, '', findings);
  return findings;
}

function walk(schema: Record<string, unknown>, tree: Map<string, ProducedTree | 'value'>, pointer: string, findings: RequiredFinding[]) {
  const undecidable = UNDECIDABLE.filter((k) => k in schema);
  if (undecidable.length > 0) {
    findings.push({
      severity: 'warning',
      message: `cannot check required fields at ${pointer || '/'} statically: the schema uses ${undecidable.join(', ')}`,
    });
  }
  for (const name of Array.isArray(schema.required) ? (schema.required as string[]) : []) {
    if (!tree.has(name)) {
      findings.push({
        severity: 'error',
        message: `the schema requires ${pointer}/${name} but the mapping does not produce it`,
      });
    }
  }
  const properties = (schema.properties ?? {}) as Record<string, unknown>;
  for (const [name, child] of tree) {
    const sub = Object.prototype.hasOwnProperty.call(properties, name) ? properties[name] : undefined;
    if (child instanceof Map && sub && typeof sub === 'object') walk(sub as Record<string, unknown>, child, `${pointer}/${name}`, findings);
  }
}
