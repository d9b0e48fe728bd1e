import { describe, expect, it } from "vitest";
import { slope } from "../../../bench/memory-sampler.ts";
import { growth, listedUris } from "../../../bench/soak.ts";

describe("the soak's reader", () => {
  it("fetches the map, every segment and part a media playlist lists, and neither the preload hint nor rendition reports", () => {
    const playlist = `#EXTM3U
#EXT-X-TARGETDURATION:2
#EXT-X-PART-INF:PART-TARGET=0.5
#EXT-X-MAP:URI="init.mp4"
#EXTINF:2.0,
seg-1.m4s
#EXT-X-PART:DURATION=0.5,URI="part-2.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.5,URI="part-2.1.m4s"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-2.2.m4s"
#EXT-X-RENDITION-REPORT:URI="../240p/index.m3u8",LAST-MSN=2,LAST-PART=1
`;
    expect(listedUris(playlist)).toEqual(["init.mp4", "seg-1.m4s", "part-2.0.m4s", "part-2.1.m4s"]);
  });

  it("growth is the least-squares slope (MiB per request), null without two distinct x", () => {
    expect(
      slope([
        { x: 0, y: 100 },
        { x: 1000, y: 150 },
        { x: 2000, y: 200 },
      ]),
    ).toBeCloseTo(0.05);
    expect(slope([{ x: 5, y: 1 }])).toBeNull();
    expect(
      slope([
        { x: 5, y: 1 },
        { x: 5, y: 2 },
      ]),
    ).toBeNull();
  });

  it("a process that grows while warming and then stays level has a second-half slope near 0", () => {
    // 100 s of samples every 10 s, 1,000 requests each: +20 MiB a sample for 50 s, then level.
    const samples = Array.from({ length: 11 }, (_, i) => ({
      t: i * 10,
      requests: i * 1000,
      rss: { edge: 100 + Math.min(i, 5) * 20 },
      pids: { edge: "1" },
    }));
    const g = growth(samples, { label: "edge", kind: "workerd", read: () => null }, 0);
    expect(g.miBPerKRequests).toBeGreaterThan(5);
    expect(g.lateMiBPerKRequests).toBe(0);
    expect(g.lateMiBPerMinute).toBe(0);
    expect(g.peakMiB).toBe(200);
  });

  it("says how much of the process's memory at the warm-up's end and at the end was file pages", () => {
    const samples = Array.from({ length: 5 }, (_, i) => ({
      t: i * 10,
      requests: i * 1000,
      rss: { edge: 100 + i * 10 },
      rssFile: { edge: 20 + i * 8 },
      pids: { edge: "1" },
    }));
    const g = growth(samples, { label: "edge", kind: "workerd", read: () => null }, 10);
    expect([g.warmMiB, g.endMiB]).toEqual([110, 140]);
    expect([g.fileWarmMiB, g.fileEndMiB]).toEqual([28, 52]);
    // Samples of runs before the split have none.
    const old = growth(
      samples.map(({ rssFile: _, ...s }) => s),
      { label: "edge", kind: "workerd", read: () => null },
      10,
    );
    expect(old.fileEndMiB).toBeNull();
  });
});
