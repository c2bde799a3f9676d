import type { PlatformConfig } from './model.js';

/**
 * What the Lambda carries: every partner's validated config (mappings and schemas inlined), built
 * at synth time by `platform/config`, never YAML. `configHash` identifies the exact config a file
 * was processed with; it is recorded in the ledger and the manifest.
 */
export interface PlatformBundle {
  readonly formatVersion: 1;
  /** SHA-256 (hex) of the canonical JSON of `config`. */
  readonly configHash: string;
  readonly config: PlatformConfig;
}

/** The file name of the bundle beside the Lambda's code. */
export const BUNDLE_FILE = 'partner-bundle.json';

/** Parses a bundle and checks its shape enough to fail loudly on a stale or foreign file. */
export function parseBundle(json: string): PlatformBundle {
  const bundle = JSON.parse(json) as Partial<PlatformBundle>;
  if (bundle.formatVersion !== 1 || typeof bundle.configHash !== 'string' || !Array.isArray(bundle.config?.partners)) {
    throw new Error(`not a partner-etl bundle of format version 1 (formatVersion: ${String(bundle.formatVersion)})`);
  }
  return bundle as PlatformBundle;
}
