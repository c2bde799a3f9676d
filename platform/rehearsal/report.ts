/** The groups of checks; a run can be limited to some (the deliberate-break tests run only what a break affects). */
export const CHECK_GROUPS = ['deploy', 'bundle', 'routing', 'processing', 'events', 'dead-letters', 'cli', 'iam'] as const;
export type CheckGroup = (typeof CHECK_GROUPS)[number];

/** PASS and FAIL are checks; INFO says what the emulator could not show or what the rehearsal compensated. */
export type CheckStatus = 'PASS' | 'FAIL' | 'INFO';

export interface CheckResult {
  readonly group: CheckGroup;
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
}

/** Collects results; a check is a name and a list of problems (none: PASS). */
export class Checks {
  readonly results: CheckResult[] = [];

  constructor(private readonly onResult?: (result: CheckResult) => void) {}

  /** PASS when `problems` is empty, else FAIL with the first problems as detail. */
  check(group: CheckGroup, name: string, problems: readonly string[], passDetail = ''): boolean {
    const failed = problems.length > 0;
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    this.add({ group, name, status: failed ? 'FAIL' : 'PASS', detail: failed ? shown : passDetail });
    return !failed;
  }

  info(group: CheckGroup, name: string, detail: string): void {
    this.add({ group, name, status: 'INFO', detail });
  }

  get failed(): CheckResult[] {
    return this.results.filter((r) => r.status === 'FAIL');
  }

  private add(result: CheckResult): void {
    this.results.push(result);
    this.onResult?.(result);
  }
}

/** The table `npm run rehearse` prints: one row per check, control characters escaped, details wrapped. */
export function formatTable(results: readonly CheckResult[], width = 140): string {
  const groupWidth = Math.max(5, ...results.map((r) => r.group.length));
  const nameWidth = Math.min(60, Math.max(5, ...results.map((r) => r.name.length)));
  const detailWidth = Math.max(30, width - groupWidth - nameWidth - 12);
  const lines = [`${'group'.padEnd(groupWidth)}  ${'check'.padEnd(nameWidth)}  result  detail`];
  lines.push('-'.repeat(Math.min(width, groupWidth + nameWidth + 10 + detailWidth)));
  for (const r of results) {
    const detail = wrap(escapeControl(r.detail), detailWidth);
    lines.push(`${r.group.padEnd(groupWidth)}  ${escapeControl(r.name).padEnd(nameWidth)}  ${r.status.padEnd(6)}  ${detail[0] ?? ''}`);
    for (const more of detail.slice(1)) lines.push(`${' '.repeat(groupWidth + nameWidth + 12)}${more}`);
  }
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  lines.push('');
  lines.push(`rehearsal: ${count('PASS')} checks passed, ${count('FAIL')} failed, ${count('INFO')} notes`);
  return lines.join('\n');
}

function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function wrap(text: string, width: number): string[] {
  if (text.length <= width) return [text];
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = '';
    }
    line = line ? `${line} ${word}` : word;
    while (line.length > width) {
      out.push(line.slice(0, width));
      line = line.slice(width);
    }
  }
  if (line) out.push(line);
  return out;
}
