// The pure parts of MP4 downloads: reading an asset's stored playlists back into periods, and the fMP4 timing
// rewrite that puts a reconnect's periods on one timeline.
import { describe, expect, it } from "vitest";
import { firstDecodeTimes, periodShifts, shiftDecodeTimes, trackTimescales } from "../../../../edge/src/storage/fmp4-timing.ts";
import { assetRenditions, planPeriods } from "../../../../edge/src/vod/download-plan.ts";
import { renderAssetMaster, renderAssetMedia } from "../../../../edge/src/vod/vod-playlist.ts";
import { initSegment, mediaSegment, TRACKS } from "../../../edge/fmp4-fixture.ts";

const STREAM = "0b8c2d1e-3f4a-4b5c-8d6e-7f8091a2b3c4";
const SESSION = "1c9d3e2f-4a5b-4c6d-9e7f-8091a2b3c4d5";
const segment = (msn: number, epoch: number) => ({
  rendition: "720p",
  msn,
  epoch,
  duration: 2,
  programDateTime: new Date(Date.UTC(2026, 11, 6, 12, 0, msn * 2)).toISOString(),
});

describe("planPeriods", () => {
  it("reads the renditions best first, and periods with their keys from what vod-playlist.ts writes", () => {
    const renditions = [
      { name: "360p", bandwidth: 800_000, width: 640, height: 360, codecs: "avc1.42c01e,mp4a.40.2", frameRate: 30 },
      { name: "720p", bandwidth: 3_000_000, width: 1280, height: 720, codecs: "avc1.42c01f,mp4a.40.2", frameRate: 30 },
    ];
    expect(assetRenditions(renderAssetMaster(renditions))).toEqual(["720p", "360p"]);
    // Epoch 1: msn 0-2, a hole, msn 4; epoch 2: msn 5-6. Keys rotate every 2 segments.
    const segments = [segment(0, 1), segment(1, 1), segment(2, 1), segment(4, 1), segment(5, 2), segment(6, 2)];
    const media = renderAssetMedia(STREAM, segments, "", { rotateEvery: 2, keyUriPrefix: `/live/${STREAM}/keys/${SESSION}/` });
    const periods = planPeriods(media);
    expect(periods.map((p) => [p.init.epoch, p.segments.map((s) => s.msn)])).toEqual([
      [1, [0, 1, 2]],
      [1, [4]],
      [2, [5, 6]],
    ]);
    expect(periods.flatMap((p) => p.segments.map((s) => s.key?.period))).toEqual([0, 0, 1, 2, 2, 3]);
    expect(periods[0]!.segments[0]).toMatchObject({
      duration: 2,
      key: { sessionId: SESSION },
      address: { streamId: STREAM, rendition: "720p", epoch: 1, file: "seg-0.m4s" },
    });
    expect(periods[2]!.init).toMatchObject({ epoch: 2, file: "init.mp4" });
    expect(planPeriods(renderAssetMedia(STREAM, [segment(0, 1)]))[0]!.segments[0]!.key).toBeNull();
  });

  it("refuses playlists that name something else than this edge's media", () => {
    expect(() => planPeriods("#EXTM3U\n#EXTINF:2,\n/live/x/720p/1/seg-0.m4s\n")).toThrow(/without EXT-X-MAP/);
    expect(() => planPeriods(`#EXTM3U\n#EXT-X-MAP:URI="/live/${STREAM}/720p/1/init.mp4"\n#EXTINF:2,\nhttps://elsewhere.test/a.m4s\n`)).toThrow(
      /unknown media URI/,
    );
    expect(() => planPeriods(`#EXTM3U\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI="k"\n`)).toThrow(/unsupported key method/);
  });
});

describe("fMP4 timing", () => {
  it("reads timescales and first decode times, and shifts every fragment's tfdt in place", () => {
    expect(trackTimescales(initSegment())).toEqual(TRACKS);
    const bytes = mediaSegment(10, 1);
    expect(firstDecodeTimes(bytes)).toEqual(
      new Map([
        [1, 153_600n],
        [2, 480_000n],
      ]),
    );
    const shifts = periodShifts(firstDecodeTimes(bytes), TRACKS, 4);
    expect(shifts).toEqual(
      new Map([
        [1, -6n * 15360n],
        [2, -6n * 48000n],
      ]),
    );
    const size = bytes.byteLength;
    shiftDecodeTimes(bytes, shifts);
    expect(bytes.byteLength).toBe(size);
    // Every fragment moved (the second starts 1 s later): byte for byte the segment made at 4 s.
    expect(bytes).toEqual(mediaSegment(4, 1));
    expect(() => shiftDecodeTimes(bytes, new Map([[1, -(10n ** 9n)]]))).toThrow(/negative/);
  });

  it("moves a period's tracks together from the one that starts first", () => {
    // Audio starts 0.1 s before video: both move by the same time, so they stay 0.1 s apart.
    const shifts = periodShifts(
      new Map([
        [1, 15_360n],
        [2, 43_200n],
      ]),
      TRACKS,
      0,
    );
    expect(shifts).toEqual(
      new Map([
        [1, -13_824n],
        [2, -43_200n],
      ]),
    );
  });
});
