/** A problem found in the configuration: where it is, what is wrong, the offending value. */
export interface ConfigProblem {
  readonly severity: 'error' | 'warning';
  /** Path relative to the config root, e.g. `partners/acme.yaml`. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
  /** The offending value, when there is one. */
  readonly value?: unknown;
}

/** `path:line:col: message (value)`, with `warning: ` before warnings. */
export function formatProblem(problem: ConfigProblem): string {
  const value = problem.value === undefined ? '' : ` (${formatValue(problem.value)})`;
  const kind = problem.severity === 'warning' ? 'warning: ' : '';
  return `${problem.file}:${problem.line}:${problem.column}: ${kind}${problem.message}${value}`;
}

function formatValue(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Thrown where a caller needs a valid configuration (the CDK app): carries every problem. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      `the partner configuration has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems
        .map(formatProblem)
        .join('\n')}`,
    );
  }
}

/** Sorts problems by file, line and column, errors before warnings at the same place. */
export function sortProblems(problems: readonly ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      a.line - b.line ||
      a.column - b.column ||
      (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1),
  );
}
