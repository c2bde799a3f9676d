import { isScalar, type LineCounter } from 'yaml';

/**
 * Where a character of a YAML scalar's value stands in the file. An expression written in a block
 * scalar (`|`) starts lines below its key and loses its indentation; one in quotes loses its quotes
 * and escapes. Errors inside expressions point at the exact line and column in the partner file.
 */
export function positionInScalar(
  node: unknown,
  source: string,
  lines: LineCounter,
  index: number,
): { line: number; column: number } | undefined {
  if (!isScalar(node) || !node.range || typeof node.value !== 'string') return undefined;
  const offset = sourceOffset(node.type, node.value, source.slice(node.range[0], node.range[1]), Math.max(0, index));
  if (offset === undefined) return undefined;
  const pos = lines.linePos(node.range[0] + offset);
  return { line: pos.line, column: pos.col };
}

function sourceOffset(type: string | undefined, value: string, raw: string, index: number): number | undefined {
  const at = Math.min(index, Math.max(0, value.length - 1));
  if (type === 'PLAIN' || type === 'QUOTE_SINGLE' || type === 'QUOTE_DOUBLE') {
    const open = type === 'PLAIN' ? 0 : 1;
    if (raw.slice(open, raw.length - open) === value) return open + at; // written as it reads: no escapes, one line
    const aligned = alignedOffset(value, raw.slice(open), at);
    return aligned === undefined ? undefined : open + aligned;
  }
  if (type === 'BLOCK_LITERAL') return literalOffset(value, raw, at);
  if (type === 'BLOCK_FOLDED') {
    const body = raw.indexOf('\n') + 1;
    const aligned = alignedOffset(value, raw.slice(body), at);
    return aligned === undefined ? undefined : body + aligned;
  }
  return undefined;
}

/** In a literal block, value line k is content line k without its indentation (that of the first non-empty line). */
function literalOffset(value: string, raw: string, index: number): number | undefined {
  const header = raw.indexOf('\n');
  if (header < 0 || /\d/.test(raw.slice(0, header).replace(/#.*/, ''))) return undefined; // an explicit indentation indicator: rare, not mapped
  const contentLines = raw.slice(header + 1).split('\n');
  const indent = /^ */.exec(contentLines.find((l) => l.trim() !== '') ?? '')![0].length;
  const before = value.slice(0, index).split('\n');
  const k = before.length - 1;
  const column = before[k]!.length;
  if (k >= contentLines.length) return undefined;
  let offset = header + 1;
  for (let i = 0; i < k; i++) offset += contentLines[i]!.length + 1;
  return offset + indent + column;
}

/**
 * Where value character `index` comes from in a scalar's source, by walking both: a value character
 * is found at the next equal source character, a space at the next whitespace (folded lines).
 */
function alignedOffset(value: string, raw: string, index: number): number | undefined {
  let j = 0;
  for (let i = 0; i <= index; i++) {
    const ch = value[i]!;
    const space = /\s/.test(ch);
    while (j < raw.length && raw[j] !== ch && !(space && /\s/.test(raw[j]!))) j++;
    if (j >= raw.length) return undefined;
    if (i === index) return j;
    j++;
  }
  return undefined;
}
