import { describe, expect, it } from "vitest";
import { slope } from "../../../bench/memory-sampler.ts";
import { listedUris } from "../../../bench/soak.ts";

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
});
