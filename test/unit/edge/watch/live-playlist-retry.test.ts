import { describe, expect, it } from "vitest";
import { PLAYLIST_RETRY_WINDOW_S, playlistRetry } from "../../../../edge/web/src/live-playlist-retry.ts";

/** hls.js's delay before retry `n` (error-helper.ts getRetryDelay, exponential backoff). */
const delay = (r: ReturnType<typeof playlistRetry>, n: number) => Math.min(2 ** n * r.retryDelayMs, r.maxRetryDelayMs);

describe("playlistRetry", () => {
  it("retries once per part target, without backoff", () => {
    const r = playlistRetry(0.5);
    expect([0, 1, 2, 5].map((n) => delay(r, n))).toEqual([500, 500, 500, 500]);
    expect(delay(playlistRetry(0.2), 3)).toBe(200);
  });

  it("keeps retrying for the whole window", () => {
    for (const part of [0.2, 0.5, 1]) {
      const r = playlistRetry(part);
      expect(r.maxNumRetry * r.retryDelayMs).toBeGreaterThanOrEqual(PLAYLIST_RETRY_WINDOW_S * 1000);
      expect((r.maxNumRetry - 1) * r.retryDelayMs).toBeLessThan(PLAYLIST_RETRY_WINDOW_S * 1000);
    }
  });

  it("never retries faster than every 100 ms", () => {
    expect(playlistRetry(0.01).retryDelayMs).toBe(100);
  });
});
