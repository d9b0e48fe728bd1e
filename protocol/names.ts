// Patterns for every name that crosses the wire and may end up in a storage key.

/** A stream id: a lowercase RFC 4122 UUID. */
export const STREAM_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A rendition name such as `720p`, `360p` or `source`. */
export const RENDITION_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** An ingest node id such as `local-1` or `eu-west-1a`. */
export const NODE_ID_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/** A region name such as `local` or `us-east-1`. */
export const REGION_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** True when `value` is a valid stream id. */
export function isStreamId(value: string): boolean {
  return STREAM_ID_PATTERN.test(value);
}

/** True when `value` is a valid rendition name. */
export function isRenditionName(value: string): boolean {
  return RENDITION_PATTERN.test(value);
}
