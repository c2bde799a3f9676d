import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { listFeeds } from '../../../lambdas/transformer/model.js';
import { buildApp } from '../../../platform/cdk/app.js';
import { stackNameOf } from '../../../platform/cdk/stack-outputs.js';
import { feedEventPattern } from '../../../platform/config/feed-pattern.js';
import { requireValidConfig } from '../../../platform/config/load-config.js';
import { matchesPattern } from '../../../platform/local/event-pattern.js';
import { objectCreatedEvent } from '../../../platform/local/s3-events.js';

const REPO = join(import.meta.dirname, '../../..');
const BUCKET = 'partner-etl-inbound';

/** JSON with object keys sorted: patterns compare by content, not by key order. */
function canon(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

function eventFor(key: string, bucket = BUCKET) {
  return objectCreatedEvent({ bucket, key, etag: 'e', size: 1, sequencer: '01', time: '2026-11-27T00:00:00Z' });
}

describe('the local router agrees with the synthesised rules', () => {
  const app = buildApp({ root: REPO, stage: 'dev', outdir: mkdtempSync(join(tmpdir(), 'cdk-out-')) });
  app.synth();
  const template = Template.fromStack(app.node.findChild(stackNameOf('dev')) as Stack);
  const rules = Object.values(template.findResources('AWS::Events::Rule')).map(
    // the synthesised pattern names the bucket by reference; the local platform by name
    (r) => JSON.parse(JSON.stringify(r.Properties.EventPattern).replace(/\{"Ref":"InboundBucket[^"]*"\}/g, JSON.stringify(BUCKET))),
  );
  const feeds = listFeeds(requireValidConfig(REPO));

  it('routes with exactly the patterns the stack deploys', () => {
    expect(rules).toHaveLength(feeds.length);
    expect(new Set(rules.map(canon))).toEqual(new Set(feeds.map((f) => canon(feedEventPattern(f, BUCKET)))));
  });

  for (const feed of feeds) {
    const { prefix, suffix } = feed.source;
    it(`${feed.partner}/${feed.id}: matching and non-matching keys, under the synthesised pattern`, () => {
      const rule = rules.find((r) => canon(r) === canon(feedEventPattern(feed, BUCKET)))!;
      expect(rule).toBeDefined();
      const yes = [`${prefix}a${suffix}`, `${prefix}sub/dir/a b+c%ü${suffix}`, `${prefix}${suffix}`, `${prefix}../x${suffix}`];
      const no = [
        `${prefix}a${suffix}.tmp`,
        `${prefix.slice(0, -1)}${suffix}`,
        `x${prefix}a${suffix}`,
        `${prefix}a${suffix.toUpperCase()}x`,
        `${prefix.toUpperCase()}a${suffix}`,
      ];
      for (const key of yes) expect(matchesPattern(rule, eventFor(key)), key).toBe(true);
      for (const key of no) expect(matchesPattern(rule, eventFor(key)), key).toBe(false);
      expect(matchesPattern(rule, eventFor(`${prefix}a${suffix}`, 'another-bucket'))).toBe(false);
      expect(matchesPattern(rule, { ...eventFor(`${prefix}a${suffix}`), 'detail-type': 'Object Deleted' })).toBe(false);
    });
  }

  it('a key matches at most one feed', () => {
    for (const feed of feeds) {
      const key = `${feed.source.prefix}file${feed.source.suffix}`;
      expect(rules.filter((r) => matchesPattern(r, eventFor(key)))).toHaveLength(1);
    }
  });

  it('refuses pattern operators it does not implement instead of guessing', () => {
    expect(() => matchesPattern({ detail: { object: { key: [{ 'anything-but': { prefix: 'x' } }] } } }, eventFor('k'))).toThrow(
      'unsupported event pattern operator',
    );
  });
});
