import { describe, expect, it } from "vitest";
import type { InitEvent } from "../../../../ingest-node/src/packager/packager.ts";
import { CmafPackager } from "../../../../ingest-node/src/packager/packager.ts";
import { concat, loadFixture, ofType, packageAll, randomSizes, topLevelBoxes } from "./fixtures.ts";

interface Case {
  name: string;
  /** Expected segment durations in seconds with a 2 s target. */
  segments: number[];
  partsPerSegment: number[];
}

// Every fixture comes from real FFmpeg with -frag_duration 500000 (see test/fixtures/cmaf/make-fixtures.sh).
const CASES: Case[] = [
  // AAC priming (1024 samples at 48 kHz) lengthens the first video sample: the first part is 0.521354 s.
  { name: "av-30fps", segments: [2.021354, 2, 2], partsPerSegment: [4, 4, 4] },
  // 0.5 s is 12.5 frames at 25 fps: FFmpeg cuts at the first frame at or past 0.5 s, so parts run 0.48-0.52 s.
  { name: "av-25fps", segments: [2.023281, 2], partsPerSegment: [4, 4] },
  { name: "video-only", segments: [2, 2], partsPerSegment: [4, 4] },
  // Keyframes only every 6 s: a 2 s target still cuts at keyframes, so the first segment is 6 s.
  { name: "gop-6s", segments: [6, 2], partsPerSegment: [12, 4] },
  // Audio only: 24 AAC frames (0.512 s) per part, every part independent.
  { name: "audio-only", segments: [2.048, 0.973333], partsPerSegment: [4, 2] },
  // x265 with B-frames: the keyframe at decode time 0.9667 s cuts a short part; target 2 s keeps one segment.
  { name: "hevc", segments: [2], partsPerSegment: [5] },
];

describe.each(CASES)("CmafPackager on FFmpeg's $name", ({ name, segments, partsPerSegment }) => {
  const { data, facts } = loadFixture(name);
  const events = packageAll(data, 2);
  const init = ofType(events, "init")[0] as InitEvent;
  const parts = ofType(events, "part");
  const segs = ofType(events, "segment");
  const timingStream = facts.streams.find((s) => s.codec_type === "video") ?? facts.streams[0]!;

  it("gives identical events whatever the chunking, 1-byte chunks included", () => {
    expect(packageAll(data, 2, () => 1)).toEqual(events);
    for (const seed of [1, 2, 3]) expect(packageAll(data, 2, randomSizes(seed, 5000))).toEqual(events);
    expect(packageAll(data, 2, randomSizes(4, 20))).toEqual(events);
  });

  it("without parts (no LL-HLS), emits the same init and segments, byte for byte, and no part", () => {
    const withoutParts = packageAll(data, 2, randomSizes(5, 5000), false);
    expect(ofType(withoutParts, "part")).toHaveLength(0);
    expect(withoutParts.filter((e) => e.type !== "part")).toEqual(events.filter((e) => e.type !== "part"));
  });

  it("emits init first, then parts, each segment right after its last part", () => {
    expect(events[0]?.type).toBe("init");
    expect(ofType(events, "init")).toHaveLength(1);
    let segmentIndex = 0;
    for (const event of events.slice(1)) {
      if (event.type === "part") expect(event.segmentIndex).toBe(segmentIndex);
      if (event.type === "segment") expect(event.index).toBe(segmentIndex++);
    }
    expect(events.at(-1)?.type).toBe("segment");
  });

  it("reproduces the input byte for byte, less FFmpeg's trailing mfra index", () => {
    const boxes = topLevelBoxes(data);
    const mfra = boxes.at(-1)!;
    expect(mfra.type).toBe("mfra");
    const media = data.subarray(0, mfra.start);
    expect(concat([init.bytes, ...segs.map((s) => s.bytes)])).toEqual(media);
    expect(concat([init.bytes, ...parts.map((p) => p.bytes)])).toEqual(media);
    expect(topLevelBoxes(init.bytes).map((b) => b.type)).toEqual(["ftyp", "moov"]);
  });

  it("emits one part per moof+mdat, indexed within its segment", () => {
    const moofs = topLevelBoxes(data).filter((b) => b.type === "moof");
    expect(parts).toHaveLength(moofs.length);
    for (const part of parts) expect(topLevelBoxes(part.bytes).map((b) => b.type)).toEqual(["moof", "mdat"]);
    expect(segs.map((s) => s.partCount)).toEqual(partsPerSegment);
    for (const segment of segs) {
      const own = parts.filter((p) => p.segmentIndex === segment.index);
      expect(own.map((p) => p.index)).toEqual(own.map((_, i) => i));
      expect(segment.bytes).toEqual(concat(own.map((p) => p.bytes)));
      expect(segment.startTime).toBe(own[0]?.startTime);
      expect(segment.duration).toBeCloseTo(
        own.reduce((sum, p) => sum + p.duration, 0),
        9,
      );
    }
  });

  it("times parts back to back, summing to the duration ffprobe reports", () => {
    for (let i = 1; i < parts.length; i++) {
      expect(parts[i]!.startTime).toBeCloseTo(parts[i - 1]!.startTime + parts[i - 1]!.duration, 9);
    }
    const total = parts.reduce((sum, p) => sum + p.duration, 0);
    expect(total).toBeCloseTo(Number(timingStream.duration), 5);
    expect(parts[0]?.startTime).toBe(0);
  });

  it("marks a part independent exactly when it starts with a keyframe, and cuts segments there", () => {
    if (timingStream.codec_type === "audio") {
      expect(parts.every((p) => p.independent)).toBe(true);
    } else if (timingStream.codec_name === "h264") {
      // No B-frames from x264 ultrafast: decode time equals ffprobe's keyframe presentation time.
      for (const part of parts) {
        const atKeyframe = facts.keyframes.some((k) => Math.abs(k - part.startTime) < 1e-5);
        expect(part.independent, `part at ${part.startTime}`).toBe(atKeyframe);
      }
    } else {
      expect(parts.filter((p) => p.independent)).toHaveLength(facts.keyframes.length);
    }
    for (const segment of segs) {
      expect(parts.find((p) => p.segmentIndex === segment.index && p.index === 0)?.independent).toBe(true);
    }
    expect(segs.map((s) => Number(s.duration.toFixed(6)))).toEqual(segments);
  });

  it("reads tracks, picture size, frame rate and the codecs FFmpeg declares", () => {
    const video = facts.streams.find((s) => s.codec_type === "video");
    const handlers = facts.streams.map((s) => (s.codec_type === "video" ? "vide" : "soun"));
    expect(init.tracks.map((t) => t.handler)).toEqual(handlers);
    expect(init.width).toBe(video?.width ?? null);
    expect(init.height).toBe(video?.height ?? null);
    if (video?.codec_name === "hevc") {
      // FFmpeg 5.1's HLS muxer hard-codes ".4" and ".B01" for HEVC; profile and level agree, the rest is from hvcC.
      expect(facts.codecs).toBe(`hvc1.1.4.L${video.level}.B01`);
      expect(init.codecs).toBe(`hvc1.1.6.L${video.level}.90`);
      expect(init.frameRate).toBeNull();
    } else {
      expect(init.codecs).toBe(facts.codecs);
      const [num, den] = (video?.r_frame_rate ?? "0/1").split("/").map(Number);
      expect(init.frameRate).toBe(video === undefined ? null : num! / den!);
    }
  });
});

describe("CmafPackager segmentation", () => {
  const { data } = loadFixture("av-30fps");

  it("follows the segment target: 6 s keeps whole, 0.5 s cuts at every keyframe part", () => {
    expect(ofType(packageAll(data, 6), "segment").map((s) => s.partCount)).toEqual([12]);
    // Keyframes 2 s apart are 4 targets: allowed here, past the default bound of 3 targets (see below).
    expect(ofType(packageAll(data, 0.5, undefined, true, { maxSegmentDuration: 2.1 }), "segment").map((s) => s.partCount)).toEqual([4, 4, 4]);
  });

  it("throws KEYFRAME_TIMEOUT, after handing over what was complete, once a segment outgrows its bound without a keyframe", () => {
    // Keyframes every 2 s; a 0.5 s target allows 1.5 s by default.
    const packager = new CmafPackager({ segmentTarget: 0.5 });
    const events = packager.push(data);
    const parts = ofType(events, "part");
    expect(parts.length).toBeGreaterThan(0);
    expect(parts.reduce((sum, p) => sum + p.duration, 0)).toBeLessThanOrEqual(1.5 + 1 / 60);
    expect(ofType(events, "segment")).toEqual([]);
    expect(() => packager.push(new Uint8Array(0))).toThrow(expect.objectContaining({ code: "KEYFRAME_TIMEOUT" }));
    // The explicit bound, in seconds, is what counts: 2 s fits 2.1 s and every segment is cut at a keyframe.
    expect(ofType(packageAll(data, 0.5, undefined, true, { maxSegmentDuration: 2.1 }), "segment").every((s) => s.duration <= 2.1)).toBe(true);
  });

  it("throws SEGMENT_TOO_LARGE once an open segment holds more bytes than allowed", () => {
    const packager = new CmafPackager({ segmentTarget: 2, maxSegmentBytes: 20_000 });
    expect(() => {
      packager.push(data);
      packager.end();
    }).toThrow(expect.objectContaining({ code: "SEGMENT_TOO_LARGE" }));
  });

  it("allows half a frame of tolerance below the target, not more", () => {
    // Keyframes at exactly 0, 2 and 4 s; half a frame at 30 fps is 16.7 ms.
    const { data: videoOnly } = loadFixture("video-only");
    expect(ofType(packageAll(videoOnly, 2.016), "segment").map((s) => s.partCount)).toEqual([4, 4]);
    expect(ofType(packageAll(videoOnly, 2.017), "segment").map((s) => s.partCount)).toEqual([8]);
  });

  it("refuses a non-positive target", () => {
    expect(() => packageAll(data, 0)).toThrow(RangeError);
  });
});
