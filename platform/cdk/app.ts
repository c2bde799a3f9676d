/**
 * The CDK app: `npx cdk synth -c stage=dev|prod` (or `npm run synth`). Partners reach the stack only
 * through the validated config model; an invalid partner file fails the synth with the same
 * messages as `partner-etl validate`. cdk-nag's AwsSolutions pack runs at every synth.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireValidConfig } from '../config/load-config.js';
import { ConfigError } from '../config/problems.js';
import { createBundle } from '../config/bundle.js';
import { PartnerEtlStack, stackNameOf, type Stage } from './partner-etl-stack.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * CDK feature flags the stack relies on, set here (not only in cdk.json) so that tests synthesise
 * what `cdk synth` does. `eventsTargetQueueSameAccount`: EventBridge may send to an encrypted feed
 * queue only on behalf of this account (`aws:SourceAccount`); without it the statement has no condition.
 */
export const FEATURE_FLAGS = { '@aws-cdk/aws-events:eventsTargetQueueSameAccount': true } as const;

/** Builds the app for a config root and stage; used by the entry below and by the tests. */
export function buildApp(options: { root: string; stage?: string; context?: Record<string, unknown>; outdir?: string }): App {
  const app = new App({ context: { ...FEATURE_FLAGS, ...options.context }, ...(options.outdir ? { outdir: options.outdir } : {}) });
  const stage = (options.stage ?? app.node.tryGetContext('stage') ?? 'dev') as string;
  if (stage !== 'dev' && stage !== 'prod') throw new Error(`stage must be dev or prod (-c stage=dev), got ${JSON.stringify(stage)}`);
  const bundle = createBundle(requireValidConfig(options.root));
  const number = (name: string) => {
    const value = app.node.tryGetContext(name);
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`context ${name} must be a positive integer, got ${JSON.stringify(value)}`);
    return n;
  };
  new PartnerEtlStack(app, stackNameOf(stage), {
    bundle,
    stage: stage as Stage,
    memoryMiB: number('memoryMiB'),
    timeoutSeconds: number('timeoutSeconds'),
    description: `partner-etl (${stage}): partner CSV files to validated JSON`,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return app;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  try {
    buildApp({ root: process.env.PARTNER_ETL_ROOT ?? REPO_ROOT }).synth();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
