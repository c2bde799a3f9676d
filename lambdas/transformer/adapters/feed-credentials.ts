import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { FeedConfig } from '../model.js';

export interface TemporaryCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/** Credentials handed out have at least this much life left (a whole file runs at most 15 minutes). */
export const REFRESH_MARGIN_MS = 16 * 60_000;
/** One hour: the feed-access role's maximum session duration. */
const SESSION_SECONDS = 3600;

/**
 * Per-feed credentials (the AWS tenant-isolation pattern): `sts:AssumeRole` into the feed-access
 * role with the feed's session policy, so a file is handled with exactly its feed's access. Cached
 * per feed for the credentials' lifetime (less the margin); concurrent asks share one call.
 */
export class FeedCredentials {
  private readonly cache = new Map<string, { expiresAt: number; credentials: Promise<TemporaryCredentials> }>();

  constructor(
    private readonly sts: STSClient,
    private readonly roleArn: string,
    private readonly sessionPolicy: (feed: FeedConfig) => string,
    private readonly now: () => number = Date.now,
  ) {}

  for(feed: FeedConfig): Promise<TemporaryCredentials> {
    const name = `${feed.partner}/${feed.id}`;
    const cached = this.cache.get(name);
    if (cached && cached.expiresAt - this.now() > REFRESH_MARGIN_MS) return cached.credentials;
    const credentials = this.assume(feed);
    // Until the call answers, concurrent asks share it; a failed call is not cached.
    const entry = { expiresAt: Number.POSITIVE_INFINITY, credentials };
    this.cache.set(name, entry);
    credentials.then(
      (c) => (entry.expiresAt = c.expiration.getTime()),
      () => this.cache.get(name) === entry && this.cache.delete(name),
    );
    return credentials;
  }

  private async assume(feed: FeedConfig): Promise<TemporaryCredentials> {
    const result = await this.sts.send(
      new AssumeRoleCommand({
        RoleArn: this.roleArn,
        // CloudTrail names the feed a request was made for.
        RoleSessionName: `${feed.partner}.${feed.id}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64),
        Policy: this.sessionPolicy(feed),
        DurationSeconds: SESSION_SECONDS,
      }),
    );
    const c = result.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new Error(`sts:AssumeRole for ${feed.partner}/${feed.id} returned no credentials`);
    }
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
  }
}
