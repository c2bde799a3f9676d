import { compileFeed, type CompiledFeed } from './engine/transform.js';
import { listFeeds, type PlatformConfig } from './model.js';

/** Every feed compiled once (mappings and schemas), keyed `partner/feed`. */
export function compileFeeds(config: PlatformConfig): Map<string, CompiledFeed> {
  return new Map(listFeeds(config).map((feed) => [`${feed.partner}/${feed.id}`, compileFeed(feed)]));
}
