import type { EventPatternJson } from '../config/feed-pattern.js';

/**
 * EventBridge pattern matching for the features the stack's rules use: exact values, `prefix` and
 * `wildcard` (`*` for any run of characters). Any other operator throws, so a rule that starts
 * using one fails here loudly instead of being routed wrongly (the npm matchers found were wrong
 * for several operators; see ../shared/LOCAL-AWS.md).
 */
export function matchesPattern(pattern: EventPatternJson, event: unknown): boolean {
  for (const [field, expected] of Object.entries(pattern)) {
    const actual = event !== null && typeof event === 'object' ? (event as Record<string, unknown>)[field] : undefined;
    if (Array.isArray(expected)) {
      if (!matchesAny(expected, actual)) return false;
    } else if (expected && typeof expected === 'object') {
      if (!matchesPattern(expected as EventPatternJson, actual)) return false;
    } else {
      throw new TypeError(`event pattern field ${field} must be an array or an object`);
    }
  }
  return true;
}

function matchesAny(alternatives: readonly unknown[], actual: unknown): boolean {
  const values = Array.isArray(actual) ? actual : [actual];
  return alternatives.some((alt) => values.some((value) => matchesOne(alt, value)));
}

function matchesOne(alternative: unknown, value: unknown): boolean {
  if (alternative === null || typeof alternative !== 'object') return value === alternative;
  const [operator, operand, ...rest] = Object.entries(alternative).flat();
  if (rest.length > 0) throw new TypeError(`unsupported event pattern operator object ${JSON.stringify(alternative)}`);
  if (operator === 'prefix' && typeof operand === 'string') return typeof value === 'string' && value.startsWith(operand);
  if (operator === 'wildcard' && typeof operand === 'string') return typeof value === 'string' && wildcardRegExp(operand).test(value);
  throw new TypeError(`unsupported event pattern operator ${JSON.stringify(alternative)}`);
}

const cache = new Map<string, RegExp>();

function wildcardRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    const body = pattern
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    re = new RegExp(`^${body}$`, 's');
    cache.set(pattern, re);
  }
  return re;
}
