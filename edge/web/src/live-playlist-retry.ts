// How hls.js retries a media playlist it could not use, on an interactive stream. Pure; watch.ts passes it to hls.js
// as its playlist load policy.
//
// Why: a stream that has just gone live lists parts of its first segment before that segment closes, and hls.js calls a
// playlist without a complete segment empty (LEVEL_EMPTY_ERROR: it plays from segments, parts only extend them). Its
// default retry waits 1 s, then 2 s, so a viewer who opened the page as the stream went live saw the first frame up to
// 3 s after the first segment was listed. Retrying once per part target (a new part is due then) plays it as soon as
// hls.js can.

/** hls.js's RetryConfig, the fields it reads. */
export interface PlaylistRetry {
  maxNumRetry: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
}

/** How long an interactive page keeps retrying a playlist it cannot use before hls.js gives up on it (its default
 *  backoff caps a delay at 8 s; a first segment closes well within that). */
export const PLAYLIST_RETRY_WINDOW_S = 8;

/** Retries every part target (`partTarget` seconds) for PLAYLIST_RETRY_WINDOW_S: a constant delay (hls.js doubles the
 *  delay per retry, capped at maxRetryDelayMs, so the cap equal to the delay keeps it flat). */
export function playlistRetry(partTarget: number): PlaylistRetry {
  const delayMs = Math.max(100, Math.round(partTarget * 1000));
  return { maxNumRetry: Math.ceil((PLAYLIST_RETRY_WINDOW_S * 1000) / delayMs), retryDelayMs: delayMs, maxRetryDelayMs: delayMs };
}
