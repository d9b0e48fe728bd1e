// The Worker's media bucket (the R2 binding MEDIA) behind a MediaStore, and the Cache API in front of media reads.
// The only module that names the binding.
import { MediaStore } from "./media-store.ts";

/** The store over the Worker's R2 bucket. */
export function mediaStore(env: Env): MediaStore {
  return new MediaStore(env.MEDIA);
}

function edgeCache(): Cache {
  return (caches as unknown as { default: Cache }).default;
}

/** The answer the Cache API of this location holds for `cacheKey`, if any. */
export function cachedAnswer(cacheKey: Request): Promise<Response | undefined> {
  return edgeCache().match(cacheKey);
}

/** Keeps `response` (public, cacheable) in this location's Cache API under `cacheKey`. */
export function keepAnswer(cacheKey: Request, response: Response): Promise<void> {
  return edgeCache().put(cacheKey, response);
}
