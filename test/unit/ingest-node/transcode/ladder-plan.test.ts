import { describe, expect, it } from "vitest";
import { DEFAULT_LADDER, TEST_LADDER } from "../../../../protocol/ladder.ts";
import { planLadder, type SourceInfo, sourceCopyDecision } from "../../../../ingest-node/src/transcode/ladder-plan.ts";
import { encodeSourceCopy, fallbackRung, planPassthrough } from "../../../../ingest-node/src/transcode/passthrough-plan.ts";

const h264: SourceInfo = {
  width: 1920,
  height: 1080,
  fps: 30,
  videoCodec: "h264",
  audioCodec: "aac",
  keyframeInterval: 2,
};

const sizes = (plan: ReturnType<typeof planLadder>) => plan.renditions.map((r) => `${r.name}:${r.width}x${r.height}`);

describe("planLadder", () => {
  it("keeps every rung of a 1080p source, widths from 16:9 rounded to even", () => {
    const plan = planLadder(DEFAULT_LADDER, { ...h264, keyframeInterval: null }, 2);
    expect(sizes(plan)).toEqual(["1080p:1920x1080", "720p:1280x720", "480p:854x480", "360p:640x360"]);
    expect(plan.renditions.every((r) => r.kind === "encode")).toBe(true);
    expect(plan.hasAudio).toBe(true);
  });

  it("drops rungs taller than the source and never upscales", () => {
    const plan = planLadder(DEFAULT_LADDER, { ...h264, width: 1280, height: 720, keyframeInterval: null }, 2);
    expect(sizes(plan)).toEqual(["720p:1280x720", "480p:854x480", "360p:640x360"]);
  });

  it("follows a 4:3 source's aspect ratio", () => {
    const plan = planLadder(DEFAULT_LADDER, { ...h264, width: 640, height: 480, keyframeInterval: null }, 2);
    expect(sizes(plan)).toEqual(["480p:640x480", "360p:480x360"]);
  });

  it("uses the display aspect ratio of anamorphic sources", () => {
    const source = { ...h264, width: 1440, height: 1080, displayAspectRatio: 16 / 9, keyframeInterval: null };
    expect(sizes(planLadder(DEFAULT_LADDER, source, 2))[1]).toBe("720p:1280x720");
  });

  it("keeps one rung at the source's (even) height when every rung is taller", () => {
    const plan = planLadder(TEST_LADDER, { ...h264, width: 256, height: 145, keyframeInterval: null }, 2);
    expect(plan.renditions).toEqual([{ kind: "encode", name: "144p", width: 254, height: 144, videoKbps: 200, audioKbps: 48 }]);
  });

  it("sorts an unsorted ladder highest first", () => {
    const plan = planLadder([...TEST_LADDER].reverse(), { ...h264, width: 640, height: 360 }, 2, {
      allowSourceCopy: false,
    });
    expect(plan.renditions.map((r) => r.name)).toEqual(["360p", "240p", "160p"]);
    expect(plan.renditions.map((r) => r.width)).toEqual([640, 426, 284]);
  });

  it("adds a source copy first for H.264+AAC with keyframes that fit the segment target", () => {
    const plan = planLadder(TEST_LADDER, { ...h264, width: 640, height: 360 }, 2);
    expect(plan.renditions[0]).toEqual({ kind: "copy", name: "source", width: 640, height: 360 });
    expect(plan.renditions).toHaveLength(4);
    expect(plan.sourceCopy.included).toBe(true);
  });

  it("offers no source copy for other codecs, unknown or unfitting keyframe intervals", () => {
    expect(planLadder(TEST_LADDER, { ...h264, videoCodec: "hevc" }, 2).sourceCopy).toMatchObject({
      included: false,
      reason: expect.stringMatching(/hevc/),
    });
    const noCopy = planLadder(TEST_LADDER, { ...h264, videoCodec: "hevc" }, 2);
    expect(noCopy.renditions.some((r) => r.kind === "copy" || r.name === "source")).toBe(false);
    expect(sourceCopyDecision({ ...h264, audioCodec: "mp3" }, 2).included).toBe(false);
    expect(sourceCopyDecision({ ...h264, keyframeInterval: null }, 2).included).toBe(false);
    expect(sourceCopyDecision({ ...h264, keyframeInterval: 3 }, 2).included).toBe(false);
    expect(sourceCopyDecision({ ...h264, keyframeInterval: 4 }, 6).included).toBe(false);
    expect(planLadder(TEST_LADDER, h264, 2, { allowSourceCopy: false }).sourceCopy.included).toBe(false);
  });

  it("accepts silent H.264, divisors of the target and small timing jitter", () => {
    expect(sourceCopyDecision({ ...h264, audioCodec: null }, 2).included).toBe(true);
    expect(sourceCopyDecision({ ...h264, keyframeInterval: 1 }, 6).included).toBe(true);
    expect(sourceCopyDecision({ ...h264, keyframeInterval: 2 }, 6).included).toBe(true);
    expect(sourceCopyDecision({ ...h264, keyframeInterval: 2.002 }, 6).included).toBe(true);
    expect(sourceCopyDecision({ ...h264, keyframeInterval: 2.2 }, 6).included).toBe(false);
  });

  it("reports a silent source and refuses bad input", () => {
    expect(planLadder(TEST_LADDER, { ...h264, audioCodec: null }, 2).hasAudio).toBe(false);
    expect(() => planLadder([], h264, 2)).toThrow(RangeError);
    expect(() => planLadder(TEST_LADDER, { ...h264, width: 0 }, 2)).toThrow(RangeError);
    const named = [{ name: "source", height: 360, videoKbps: 500, audioKbps: 64 }];
    expect(() => planLadder(named, h264, 2)).toThrow(/source/);
  });
});

describe("planPassthrough", () => {
  it("plans the source copy alone when the source can be copied", () => {
    const plan = planPassthrough(h264, 2);
    expect(plan.renditions).toEqual([{ kind: "copy", name: "source", width: 1920, height: 1080 }]);
    expect(plan.sourceCopy).toEqual({ included: true, reason: "h264 with a 2s keyframe interval" });
    expect(plan.fallback).toBeUndefined();
    expect(plan.hasAudio).toBe(true);
    expect(planPassthrough({ ...h264, audioCodec: null }, 2)).toMatchObject({ hasAudio: false, renditions: [{ kind: "copy" }] });
    expect(planPassthrough({ ...h264, keyframeInterval: 1 }, 6).renditions).toHaveLength(1);
  });

  it("falls back to one encoded rendition at the source's height, saying why", () => {
    const hevc = planPassthrough({ ...h264, videoCodec: "hevc" }, 2);
    expect(hevc.renditions).toEqual([{ kind: "encode", name: "1080p", width: 1920, height: 1080, videoKbps: 5000, audioKbps: 128 }]);
    expect(hevc.sourceCopy).toEqual({ included: false, reason: "video codec hevc is not h264" });
    expect(hevc.fallback).toBe("passthrough cannot copy this source (video codec hevc is not h264): encoding one 1920x1080 rendition at 5000 kbps instead");
    const longGop = planPassthrough({ ...h264, width: 1280, height: 720, keyframeInterval: 4 }, 2);
    expect(sizes(longGop)).toEqual(["720p:1280x720"]);
    expect(longGop.fallback).toMatch(/keyframe interval 4s exceeds the 2s segment target/);
    expect(planPassthrough({ ...h264, keyframeInterval: null }, 2).fallback).toMatch(/keyframe interval unknown/);
    expect(planPassthrough({ ...h264, audioCodec: "mp3" }, 2).fallback).toMatch(/audio codec mp3 is not aac/);
  });

  it("never upscales, keeps the height even and follows the display aspect ratio", () => {
    const odd = planPassthrough({ ...h264, videoCodec: "hevc", width: 353, height: 241 }, 2);
    expect(sizes(odd)).toEqual(["240p:352x240"]);
    const anamorphic = { ...h264, videoCodec: "hevc", width: 1440, height: 1080, displayAspectRatio: 16 / 9 };
    expect(sizes(planPassthrough(anamorphic, 2))).toEqual(["1080p:1920x1080"]);
    // The copy keeps the coded size, like the `source` rung of planLadder.
    expect(sizes(planPassthrough({ ...anamorphic, videoCodec: "h264" }, 2))).toEqual(["source:1440x1080"]);
    expect(() => planPassthrough({ ...h264, height: 0 }, 2)).toThrow(RangeError);
  });
});

describe("fallbackRung", () => {
  it("takes the default ladder's bitrate at its heights", () => {
    for (const rung of DEFAULT_LADDER) expect(fallbackRung(rung.height)).toEqual(rung);
  });

  it("scales the nearest rung's bitrate by the pixel count, in 50 kbps steps within the rung limits", () => {
    expect(fallbackRung(576)).toEqual({ name: "576p", height: 576, videoKbps: 2000, audioKbps: 96 }); // 1400 x 1.44
    expect(fallbackRung(1440)).toMatchObject({ videoKbps: 8900, audioKbps: 128 }); // 5000 x 1.78
    expect(fallbackRung(2160).videoKbps).toBe(20_000);
    expect(fallbackRung(241)).toMatchObject({ name: "240p", height: 240, videoKbps: 350 }); // 800 x 0.44
    expect(fallbackRung(600).videoKbps).toBe(1950); // equally near 480p and 720p: 720p's 2800 x 0.69
    expect(fallbackRung(90).videoKbps).toBe(50);
    expect(fallbackRung(8640).videoKbps).toBe(50_000);
    expect(() => fallbackRung(720, [])).toThrow(RangeError);
  });
});

describe("encodeSourceCopy", () => {
  const copyable: SourceInfo = { width: 1281, height: 721, fps: 30, videoCodec: "h264", audioCodec: "aac", keyframeInterval: 2 };

  it("encodes the source copy under the same name and even size, at the fallback rung's bitrate, and leaves the rungs", () => {
    const plan = planLadder(TEST_LADDER, copyable, 2);
    expect(plan.renditions[0]).toMatchObject({ kind: "copy", name: "source" });
    const encoded = encodeSourceCopy(plan);
    const rung = fallbackRung(721);
    expect(encoded.renditions[0]).toEqual({ kind: "encode", name: "source", width: 1280, height: 720, videoKbps: rung.videoKbps, audioKbps: rung.audioKbps });
    expect(encoded.renditions.slice(1)).toEqual(plan.renditions.slice(1));
    expect(encoded.sourceCopy).toMatchObject({ included: false, reason: expect.stringContaining("keyframes") });
  });

  it("does the same for a passthrough plan, and leaves a plan without a copy as it is", () => {
    const passthrough = encodeSourceCopy(planPassthrough(copyable, 2));
    expect(passthrough.renditions.map((r) => `${r.kind}:${r.name}`)).toEqual(["encode:source"]);
    const noCopy = planLadder(TEST_LADDER, { ...copyable, keyframeInterval: null }, 2);
    expect(encodeSourceCopy(noCopy)).toBe(noCopy);
  });
});
