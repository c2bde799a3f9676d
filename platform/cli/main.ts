import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTransformCommand } from './transform-command.js';
import { runValidateCommand } from './validate-command.js';
import { safeWriter } from './terminal.js';
import packageJson from '../../package.json' with { type: 'json' };

/** The repository this CLI belongs to: the default config root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Exit statuses of PRODUCT.md: 0 good, 1 a failed file or invalid config, 2 usage or config error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * Errors that report a user's mistake (the config, the target, the arguments, `dev` without the emulators installed),
 * printed without a stack trace.
 */
const USER_ERRORS = new Set(['ConfigError', 'TargetError', 'UsageError', 'EmulatorsMissingError']);

/** Builds the `partner-etl` program; `run` is where each command's exit code goes. */
export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('partner-etl')
    .description('Partner CSV files in, validated JSON out: check configs, transform files, query the file ledger.')
    .version(`partner-etl ${packageJson.version} (Node.js ${process.version})`, '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();
  const rootOption = () => new Option('--root <dir>', 'folder holding partners/ and mappings/').default(REPO_ROOT, 'this repository');

  program
    .command('validate')
    .description('check every partner file, expression and schema, then run every golden sample against its expected output')
    .option('--update', "write or refresh each differing sample's expected output from the engine, after showing the diff")
    .option(
      '--base <git-ref>',
      'compare every schema with the one at the ref: a breaking change needs a major version bump, any other a minor one',
    )
    .addOption(rootOption())
    .action(async (options: { root: string; update?: boolean; base?: string }) => {
      setExitCode(
        await runValidateCommand({
          root: resolve(options.root),
          update: options.update ?? false,
          ...(options.base === undefined ? {} : { base: options.base }),
        }),
      );
    });

  program
    .command('init')
    .description(
      "draft a feed from a partner's sample file: the partner file (or a feed added to it), the schema and a golden sample, shown as a diff",
    )
    .argument('<partner/feed>', 'the feed to draft, e.g. acme/orders')
    .argument('<sample>', "the partner's sample file")
    .option('--rows <n>', 'rows in the golden sample', parseRows, 20)
    .option('--yes', 'write the files (without it they are only shown)')
    .option('--owner <email>', "for a new partner: who is alerted about the partner's files")
    .option('--name <name>', 'for a new partner: its display name (default: the id)')
    .addOption(rootOption())
    .action(
      async (target: string, sample: string, options: { rows: number; yes?: boolean; owner?: string; name?: string; root: string }) => {
        const { runInitCommand } = await import('./init-command.js');
        setExitCode(
          await runInitCommand({
            root: resolve(options.root),
            target,
            sample,
            rows: options.rows,
            yes: options.yes ?? false,
            ...(options.owner ? { owner: options.owner } : {}),
            ...(options.name ? { name: options.name } : {}),
          }),
        );
      },
    );

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
    .action(
      async (file: string, options: { feed: string; out?: string; rejects?: string; summary?: string; key?: string; root: string }) => {
        setExitCode(await runTransformCommand({ ...options, file, root: resolve(options.root) }));
      },
    );

  program
    .command('preview')
    .description(
      'the first rows of a file through a feed: input cells, output fields, rejected rows with code and reason, how each expression runs',
    )
    .argument('<file>', 'the CSV file')
    .requiredOption('--feed <partner/feed>', 'the feed whose config reads the file')
    .option('--rows <n>', 'rows to show', parseRows, 20)
    .addOption(rootOption())
    .action(async (file: string, options: { feed: string; rows: number; root: string }) => {
      const { runPreviewCommand } = await import('./preview-command.js');
      setExitCode(await runPreviewCommand({ file, feed: options.feed, rows: options.rows, root: resolve(options.root) }));
    });

  const stateOption = () => new Option('--state <dir>', "the local platform's state folder").default('./.partner-etl');
  const stageOption = () => new Option('--stage <stage>', 'a deployed stage (its stack outputs name the table and buckets)');

  program
    .command('status')
    .description('list files from the ledger, newest first; with a key, that file in detail (no partner file is read)')
    .argument('[key]', 'an object key: its versions (the latest marked), attempts, errors and output')
    .option('--partner <partner>')
    .option('--feed <partner/feed>', 'one feed, e.g. acme/orders')
    .option('--status <status>', 'RECEIVED, PROCESSING, SUCCEEDED, PARTIAL, FAILED or DUPLICATE')
    .option('--since <when>', '30m, 24h, 7d or an ISO date (default: the last 31 days)')
    .option('--summary', 'files, rows and rejects per partner and feed, with failure counts')
    .option('--overdue', "scheduled feeds whose latest deadline passed with no file (reads the feeds' schedules from --root)")
    .option('--json', 'print JSON: an array of file records, or of feed summaries')
    .addOption(stageOption())
    .addOption(stateOption())
    .option('--root <dir>', "with --overdue: the config folder (default: the local platform's last --root, else this repository)")
    .action(
      async (
        key: string | undefined,
        options: {
          partner?: string;
          feed?: string;
          status?: string;
          since?: string;
          summary?: boolean;
          overdue?: boolean;
          json?: boolean;
          stage?: string;
          state: string;
          root?: string;
        },
      ) => {
        const { runStatusCommand } = await import('./status-command.js');
        const stateDir = resolve(options.state);
        let overdue;
        if (options.overdue) {
          // Only the schedules need the partner files; everything else status prints comes from the ledger.
          const { requireValidConfig } = await import('../config/load-config.js');
          const { rememberedRoot } = await import('../local/state.js');
          const root = resolve(options.root ?? (options.stage ? undefined : rememberedRoot(stateDir)) ?? REPO_ROOT);
          overdue = { root, config: requireValidConfig(root) };
        }
        setExitCode(await runStatusCommand({ ...options, key, stateDir, overdue }));
      },
    );

  program
    .command('reprocess')
    .description('run a file again as a new attempt, keeping its history')
    .argument('<key>', 'the object key')
    .addOption(stageOption())
    .addOption(stateOption())
    .action(async (key: string, options: { stage?: string; state: string }) => {
      const { runReprocessCommand } = await import('./reprocess-command.js');
      setExitCode(await runReprocessCommand({ key, stage: options.stage, stateDir: resolve(options.state) }));
    });

  program
    .command('drift')
    .description("the config change a file's drifted header calls for (its HEADER_DRIFT warning in the ledger), as a patch for git apply")
    .argument('<key>', 'the object key of a file whose header drifted')
    .addOption(stageOption())
    .addOption(stateOption())
    .addOption(rootOption())
    .action(async (key: string, options: { stage?: string; state: string; root: string }) => {
      const { runDriftCommand } = await import('./drift-command.js');
      setExitCode(await runDriftCommand({ key, stage: options.stage, stateDir: resolve(options.state), root: resolve(options.root) }));
    });

  program
    .command('dev')
    .description('the local platform: embedded S3, SQS and DynamoDB, the real handler, an inbox and an outbox')
    .option('--once', 'process what is in the inbox, print a table and exit')
    .option('--inbox <dir>', 'files here are uploaded with their relative path as key', './inbox')
    .option('--outbox <dir>', 'outputs, rejects, manifests and events appear here', './outbox')
    .option('--s3-sqs-port <port>', 'loopback port of the S3 and SQS emulator (default: any free port)', parsePort)
    .option('--dynamodb-port <port>', 'loopback port of the DynamoDB emulator (default: any free port)', parsePort)
    .addOption(stateOption())
    .addOption(rootOption())
    .action(
      async (options: {
        once?: boolean;
        inbox: string;
        outbox: string;
        state: string;
        root: string;
        s3SqsPort?: number;
        dynamodbPort?: number;
      }) => {
        const { runDevCommand } = await import('./dev-command.js');
        setExitCode(
          await runDevCommand({
            root: resolve(options.root),
            inbox: options.inbox,
            outbox: options.outbox,
            stateDir: options.state,
            once: options.once ?? false,
            ports: { s3Sqs: options.s3SqsPort, dynamodb: options.dynamodbPort },
          }),
        );
      },
    );

  return program;
}

function parseRows(value: string): number {
  const rows = Number(value);
  if (!Number.isInteger(rows) || rows < 1 || rows > 10_000) throw new InvalidArgumentError('rows is a whole number from 1 to 10000');
  return rows;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError('a port is a whole number from 1 to 65535');
  return port;
}

/** Runs the CLI on `process.argv` and sets `process.exitCode`. */
export async function main(): Promise<void> {
  // `partner-etl init ... | head`: a reader that goes away ends the command quietly, not with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(process.exitCode ?? EXIT.ok);
    });
  }
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
    // A user's mistake (an invalid config, a stage that cannot be reached) is told as a sentence; anything else is a bug, with its stack.
    const error = err instanceof Error ? err : new Error(String(err));
    safeWriter(process.stderr).write(`partner-etl: ${USER_ERRORS.has(error.name) ? error.message : (error.stack ?? error.message)}\n`);
    process.exitCode = EXIT.usage;
    return;
  }
  process.exitCode = code;
}
