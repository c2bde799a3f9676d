import { Command, CommanderError, Option } from 'commander';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTransformCommand } from './transform-command.js';
import { runValidateCommand } from './validate-command.js';

/** The repository this CLI belongs to: the default config root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Exit statuses of PRODUCT.md: 0 good, 1 a failed file or invalid config, 2 usage or config error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Builds the `partner-etl` program; `run` is where each command's exit code goes. */
export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('partner-etl')
    .description('Partner CSV files in, validated JSON out: check configs, transform files, query the file ledger.')
    .showHelpAfterError()
    .exitOverride();
  const rootOption = () => new Option('--root <dir>', 'folder holding partners/ and mappings/').default(REPO_ROOT, 'this repository');

  program
    .command('validate')
    .description('check every partner file, expression and schema, then run every golden sample against its expected output')
    .addOption(rootOption())
    .action(async (options: { root: string }) => {
      setExitCode(await runValidateCommand({ root: resolve(options.root) }));
    });

  program
    .command('transform')
    .description('run the engine on a local file')
    .argument('<file>', 'the CSV file')
    .requiredOption('--feed <partner/feed>', 'the feed whose config reads the file')
    .option('--out <file>', 'output records (default: stdout); written only when the file does not fail')
    .option('--rejects <file>', 'rejected rows, one JSON object per line')
    .option('--summary <file>', 'the outcome as JSON: status, counts, errors, duration')
    .option('--key <key>', 'the object key to bind as $source.key (default: the feed prefix and the file name)')
    .addOption(rootOption())
    .action(async (file: string, options: { feed: string; out?: string; rejects?: string; summary?: string; key?: string; root: string }) => {
      setExitCode(await runTransformCommand({ ...options, file, root: resolve(options.root) }));
    });

  return program;
}

/** Runs the CLI on `process.argv` and sets `process.exitCode`. */
export async function main(): Promise<void> {
  let code: number = EXIT.ok;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; every usage mistake exits 2
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    process.stderr.write(`partner-etl: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = EXIT.usage;
    return;
  }
  process.exitCode = code;
}
