import { describe, expect, it } from "vitest";
import { LIVE_SYNC_JUMP_AFTER_S, LIVE_SYNC_MAX_RATE, liveSyncConfig, renderWatchPage } from "../../../../edge/src/watch/watch-page.ts";

/** The JSON config block of a rendered page. */
function pageConfig(html: string): { liveSync: unknown } {
  const json = /<script id="watch-config" type="application\/json">(.*?)<\/script>/.exec(html)?.[1];
  return JSON.parse(json ?? "null") as { liveSync: unknown };
}

describe("liveSyncConfig", () => {
  it("targets PART-HOLD-BACK (3 x the stream's part target) with catch-up, for interactive streams only", () => {
    expect(liveSyncConfig("interactive")).toEqual({ holdBack: 1.5, jumpAfter: LIVE_SYNC_JUMP_AFTER_S, maxRate: LIVE_SYNC_MAX_RATE });
    expect(liveSyncConfig("interactive", 0.2)?.holdBack).toBe(0.6);
    expect(liveSyncConfig("interactive", null)?.holdBack).toBe(1.5);
    // Clamped like the stream's timing: never below the minimum part target.
    expect(liveSyncConfig("interactive", 0.05)?.holdBack).toBe(0.6);
    expect(liveSyncConfig("low", 0.5)).toBeNull();
    expect(liveSyncConfig("standard")).toBeNull();
    // Catching up a jumpAfter gap at maxRate takes at most 10 s.
    expect(LIVE_SYNC_JUMP_AFTER_S / (LIVE_SYNC_MAX_RATE - 1)).toBeLessThanOrEqual(10 + 1e-9);
    expect(LIVE_SYNC_MAX_RATE).toBeGreaterThanOrEqual(1.1);
    expect(LIVE_SYNC_MAX_RATE).toBeLessThanOrEqual(1.2);
  });

  it("goes into the page's config", () => {
    const input = { streamId: "s1", title: "t", hlsScriptUrl: "/hls.js" };
    expect(pageConfig(renderWatchPage({ ...input, latencyMode: "interactive", partTarget: 0.3 })).liveSync).toEqual({
      holdBack: 0.9,
      jumpAfter: LIVE_SYNC_JUMP_AFTER_S,
      maxRate: LIVE_SYNC_MAX_RATE,
    });
    expect(pageConfig(renderWatchPage({ ...input, latencyMode: "low" })).liveSync).toBeNull();
  });
});
