// MP4 download byte maps kept in the Cache API: built once per asset and rendition at a location (download-index.ts).
import { cachedAnswer, keepAnswer, mediaStore } from "../storage/media-bucket.ts";
import { buildDownloadIndex, type ContentKeys, type DownloadIndex, type IndexRequest } from "./download-index.ts";

// The version names the index's shape: an index cached in an older shape is never read back as this one.
const INDEX_CACHE_PATH = "/__download-index/v2";

/**
 * The index of `request`, from the Cache API when this location built it before (assets never change once written, and
 * a deleted one is refused before this is asked: its D1 row is gone), else built and kept for a day.
 */
export async function downloadIndex(
  env: Env,
  origin: string,
  request: IndexRequest,
  keys: ContentKeys,
  waitUntil: (work: Promise<unknown>) => void,
): Promise<DownloadIndex> {
  const cacheKey = new Request(`${origin}${INDEX_CACHE_PATH}/${request.kind}/${request.id}/${request.rendition ?? "best"}`);
  const hit = await cachedAnswer(cacheKey);
  if (hit) return (await hit.json()) as DownloadIndex;
  const index = await buildDownloadIndex(mediaStore(env), request, keys);
  const body = JSON.stringify(index);
  waitUntil(keepAnswer(cacheKey, new Response(body, { headers: { "content-type": "application/json", "cache-control": "public, max-age=86400" } })));
  return index;
}
