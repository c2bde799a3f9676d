import { createHash } from 'node:crypto';
import type { PlatformBundle } from '../../lambdas/transformer/bundle.js';
import type { PlatformConfig } from '../../lambdas/transformer/model.js';

/** Builds the bundle the Lambda and the local platform run on, with the content hash of the config. */
export function createBundle(config: PlatformConfig): PlatformBundle {
  return { formatVersion: 1, configHash: hashConfig(config), config };
}

/** SHA-256 of the config's canonical JSON (object keys sorted), so the same config always hashes the same. */
export function hashConfig(config: PlatformConfig): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
