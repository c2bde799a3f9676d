/**
 * Which columns a mapping reads, found statically from the JSONata syntax tree: the root-level
 * names (`amount`, `` `Total (EUR)` ``, `$.amount`, `$$.amount`, `$lookup($, "amount")`), never the
 * names inside a path's later steps or its filters, which read the value before them. A file whose
 * header lacks one of them fails with MISSING_COLUMNS instead of silently producing records without
 * the field.
 */
import jsonata from 'jsonata';
import type { MappingConfig } from '../model.js';

/** One column name an expression reads. */
export interface ColumnRead {
  readonly column: string;
  /** 0-based offset of the name in the expression text, for error positions. */
  readonly offset: number;
}

export interface ColumnReads {
  /** In order of appearance; a column read twice is listed twice. */
  readonly reads: readonly ColumnRead[];
  /**
   * The expression also reads the row as a whole (`$`, `*`, `**`, `$lookup` of a computed name), so
   * the columns it needs cannot all be listed.
   */
  readonly wholeRow: boolean;
}

interface Node {
  type: string;
  value?: unknown;
  position?: number;
  steps?: Node[];
  lhs?: Node | [Node, Node][];
  rhs?: Node;
  expression?: Node;
  expressions?: Node[];
  arguments?: Node[];
  procedure?: Node;
  condition?: Node;
  then?: Node;
  else?: Node;
  body?: Node;
  expr?: Node;
  stages?: Node[];
  predicate?: Node[];
  group?: { lhs?: [Node, Node][] };
}

/** The columns one expression reads. Throws JSONata's own error on an expression that does not parse. */
export function findColumnReads(expression: string): ColumnReads {
  const reads: ColumnRead[] = [];
  let wholeRow = false;
  const add = (node: Node) => {
    const column = String(node.value);
    reads.push({ column, offset: nameOffset(expression, node, column) });
  };
  const isRow = (node: Node | undefined, atRow: boolean) =>
    node?.type === 'variable' && (node.value === '$' || (atRow && node.value === ''));

  /**
   * Walks a node. `atRow`: it is evaluated against the row itself, so its names are columns; inside a
   * later path step, a filter, a sort or a group they name fields of something else, and only `$$`
   * (always the row) still reads columns there.
   */
  const walk = (node: Node | undefined, atRow: boolean): void => {
    if (!node || typeof node !== 'object') return;
    walkOwn(node, atRow);
    node.stages?.forEach((stage) => walk(stage.expr, false));
    node.predicate?.forEach((stage) => walk(stage.expr, false));
    node.group?.lhs?.forEach((pair) => pair.forEach((n) => walk(n, false)));
  };

  const walkOwn = (node: Node, atRow: boolean): void => {
    switch (node.type) {
      case 'path':
        walkPath(node.steps ?? [], atRow);
        return;
      case 'name':
        if (atRow) add(node);
        return;
      case 'variable':
        if (isRow(node, atRow)) wholeRow = true; // the row handed on as a whole: `$keys($)`
        return;
      case 'wildcard':
      case 'descendant':
        if (atRow) wholeRow = true;
        return;
      case 'function':
      case 'partial':
        if (node.procedure?.type === 'variable' && node.procedure.value === 'lookup' && isRow(node.arguments?.[0], atRow)) {
          const name = node.arguments?.[1];
          if (name?.type === 'string') add(name);
          else wholeRow = true;
          node.arguments?.slice(1).forEach((n) => walk(n, atRow));
          return;
        }
        walk(node.procedure, atRow);
        node.arguments?.forEach((n) => walk(n, atRow));
        return;
      case 'lambda':
        walk(node.body, atRow); // a lambda's body runs on the input where it was defined
        return;
      case 'block':
        node.expressions?.forEach((n) => walk(n, atRow));
        return;
      case 'bind':
        walk(node.rhs, atRow);
        return;
      case 'condition':
        walk(node.condition, atRow);
        walk(node.then, atRow);
        walk(node.else, atRow);
        return;
      case 'binary':
      case 'apply':
        walk(node.lhs as Node, atRow);
        walk(node.rhs, atRow);
        return;
      case 'unary':
        if (node.value === '-') walk(node.expression, atRow);
        else if (node.value === '[') node.expressions?.forEach((n) => walk(n, atRow));
        else if (node.value === '{') (node.lhs as [Node, Node][] | undefined)?.forEach((pair) => pair.forEach((n) => walk(n, atRow)));
        return;
      case 'sort':
        (node as Node & { terms?: { expression: Node }[] }).terms?.forEach((t) => walk(t.expression, false));
        return;
      case 'transform':
        for (const key of ['pattern', 'update', 'delete'] as const) walk((node as unknown as Record<string, Node>)[key], false);
        return;
      default:
        return; // literals and regexes
    }
  };

  /** The first step is evaluated where the path is; `$` and `$$` hand the row to the step after them; later steps read the step before. */
  const walkPath = (steps: readonly Node[], atRow: boolean): void => {
    const [first, second] = steps;
    if (!first) return;
    if (isRow(first, atRow)) {
      if (second?.type === 'name') add(second);
      else wholeRow = true;
      steps.slice(1).forEach((step) => walk(step, false));
      return;
    }
    walk(first, atRow);
    steps.slice(1).forEach((step) => walk(step, false));
  };

  walk(jsonata(expression).ast() as Node, true);
  return { reads, wholeRow };
}

/** JSONata positions are the offset just past a token; a quoted or backticked name is two characters longer than its value. */
function nameOffset(expression: string, node: Node, column: string): number {
  const end = node.position ?? 0;
  const quoted = ['`', '"', "'"].includes(expression[end - 1] ?? '');
  return Math.max(0, end - column.length - (quoted ? 2 : 0));
}

/** Every column a mapping reads, each once, in order of first appearance; `wholeRow` when any expression reads the row as a whole. */
export function findMappingColumnReads(mapping: MappingConfig): { columns: string[]; wholeRow: boolean } {
  const expressions = mapping.kind === 'fields' ? mapping.fields.map((f) => f.expression) : [mapping.expression];
  const columns = new Set<string>();
  let wholeRow = false;
  for (const expression of expressions) {
    const found = findColumnReads(expression);
    for (const read of found.reads) columns.add(read.column);
    wholeRow ||= found.wholeRow;
  }
  return { columns: [...columns], wholeRow };
}
