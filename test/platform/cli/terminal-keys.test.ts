import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeConfigRoot, validFiles } from '../../support/config-root.js';

const BIN = join(import.meta.dirname, '../../../platform/cli/partner-etl.mjs');
// A key a partner chose: it retitles the terminal window (OSC 0 ... BEL) and clears the screen.
const KEY = 'acme/orders/x\u001b]0;pwned\u0007\u001b[2J.csv';
const SHOWN = 'acme/orders/x\\u001b]0;pwned\\u0007\\u001b[2J.csv';

function cli(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe('a key with terminal escape sequences', () => {
  it('reaches the terminal escaped in dev, status and reprocess', () => {
    const root = makeConfigRoot(validFiles());
    const dir = mkdtempSync(join(tmpdir(), 'partner-etl-keys-'));
    mkdirSync(join(dir, 'inbox/acme/orders'), { recursive: true });
    writeFileSync(join(dir, 'inbox', KEY), 'id,amount\nA,1\n');

    const runs = [
      cli(['dev', '--once', '--root', root], dir),
      cli(['status'], dir),
      cli(['status', KEY], dir),
      cli(['reprocess', KEY], dir), // the platform is not running: refused, naming nothing raw
      cli(['reprocess', `${KEY}.missing`], dir),
    ];
    expect(runs[0]!.code).toBe(0);
    for (const [i, run] of runs.entries()) {
      for (const c of ['\u001b', '\u0007']) expect(run.out.includes(c), `run ${i}: ${JSON.stringify(run.out)}`).toBe(false);
    }
    expect(runs[0]!.out).toContain(SHOWN);
    expect(runs[1]!.out).toContain(SHOWN);
    expect(runs[2]!.out).toContain(SHOWN);
  }, 180_000);
});
