// Parts within PART-TARGET on real FFmpeg output: the node's per-frame fragments joined by the packager, against
// FFmpeg's own fragments of the part target (which outlast it at 25 and 29.97 fps, and in the first part at any rate).
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { PackagerEvent, PartEvent, SegmentEvent } from "../../../../ingest-node/src/packager/packager.ts";
import { CmafPackager } from "../../../../ingest-node/src/packager/packager.ts";
import { partFragmentDuration } from "../../../../ingest-node/src/transcode/ffmpeg-args.ts";
import { concat } from "./fixtures.ts";
import { ascii, box, bytes, fullBox, moov, u32, u64 } from "./mp4-builder.ts";

/** 4.5 s of testsrc2 at `rate` + AAC, 2 s GOPs, through FLV first (millisecond timestamps, as the node gets them). */
function encode(rate: string, fragDurationS: number): Promise<Uint8Array> {
  const flv = [
    ...["-hide_banner", "-loglevel", "error", "-nostdin"],
    ...["-f", "lavfi", "-i", `testsrc2=size=284x160:rate=${rate}`, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"],
    ...["-t", "4.5", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-force_key_frames", "expr:gte(t,n_forced*2)"],
    ...["-sc_threshold", "0", "-c:a", "aac", "-b:a", "48k", "-f", "flv", "pipe:1"],
  ];
  const mp4 = [
    ...["-hide_banner", "-loglevel", "error", "-nostdin", "-f", "flv", "-i", "pipe:0", "-c", "copy"],
    ...["-f", "mp4", "-movflags", "frag_keyframe+empty_moov+default_base_moof+skip_trailer"],
    ...["-frag_duration", String(Math.round(fragDurationS * 1_000_000)), "pipe:1"],
  ];
  const source = spawn("ffmpeg", flv, { stdio: ["ignore", "pipe", "inherit"] });
  const remux = spawn("ffmpeg", mp4, { stdio: ["pipe", "pipe", "inherit"] });
  source.stdout.pipe(remux.stdin);
  const chunks: Uint8Array[] = [];
  remux.stdout.on("data", (chunk: Buffer) => chunks.push(new Uint8Array(chunk)));
  return new Promise((resolve, reject) => {
    remux.on("error", reject);
    remux.on("close", (code) => (code === 0 ? resolve(concat(chunks)) : reject(new Error(`ffmpeg exited with ${code}`))));
  });
}

function packageAll(bytes: Uint8Array, partTarget?: number): PackagerEvent[] {
  const packager = new CmafPackager({ segmentTarget: 2, ...(partTarget === undefined ? {} : { partTarget }) });
  const events: PackagerEvent[] = [];
  for (let at = 0; at < bytes.byteLength; at += 4096) events.push(...packager.push(bytes.subarray(at, at + 4096)));
  events.push(...packager.end());
  return events;
}

const partsOf = (events: PackagerEvent[]) => events.filter((e): e is PartEvent => e.type === "part");
const segmentsOf = (events: PackagerEvent[]) => events.filter((e): e is SegmentEvent => e.type === "segment");
/** Microsecond slack: durations are ticks over a timescale. */
const EPSILON = 1e-6;

describe("CmafPackager partTarget on FFmpeg's per-frame fragments", () => {
  for (const { rate, fps } of [
    { rate: "30", fps: 30 },
    { rate: "30000/1001", fps: 30000 / 1001 },
    { rate: "25", fps: 25 },
  ]) {
    for (const partTarget of [0.5, 0.2]) {
      it(`${rate} fps, PART-TARGET ${partTarget}: every part within it, at least 85 % of it but a segment's last or an independent one`, async () => {
        const events = packageAll(await encode(rate, partFragmentDuration(fps)), partTarget);
        const parts = partsOf(events);
        const segments = segmentsOf(events);
        expect(segments.length).toBe(3);
        for (const part of parts) expect(part.duration).toBeLessThanOrEqual(partTarget + EPSILON);
        for (const segment of segments) {
          const own = parts.filter((p) => p.segmentIndex === segment.index);
          expect(own.map((p) => p.index)).toEqual([...own.keys()]);
          expect(concat(own.map((p) => p.bytes))).toEqual(segment.bytes);
          expect(own.reduce((sum, p) => sum + p.duration, 0)).toBeCloseTo(segment.duration, 6);
          // RFC 8216bis §4.4.4.9's floor, with its exemptions; as many whole frames as fit where the floor cannot be
          // met (0.2 s at 29.97 fps: 5 frames are 0.1668 s, 6 are 0.2002 s).
          const floor = Math.min(0.85 * partTarget, Math.floor(partTarget * fps + EPSILON) / fps);
          for (const part of own.slice(0, -1)) if (!part.independent) expect(part.duration).toBeGreaterThanOrEqual(floor - 0.002);
          // Independent exactly on the segment's first part (2 s GOPs).
          expect(own.map((p) => p.independent)).toEqual(own.map((_, i) => i === 0));
        }
        // Parts follow each other without gaps or overlaps.
        for (let i = 1; i < parts.length; i += 1) {
          expect(parts[i]!.startTime).toBeCloseTo(parts[i - 1]!.startTime + parts[i - 1]!.duration, 6);
        }
      }, 30_000);
    }
  }

  it("FFmpeg's own fragments of the part target outlast it (why the node asks for a fragment per frame)", async () => {
    const longest = (events: PackagerEvent[]) => Math.max(...partsOf(events).map((p) => p.duration));
    expect(longest(packageAll(await encode("30000/1001", 0.5)))).toBeGreaterThan(0.5);
    expect(longest(packageAll(await encode("25", 0.2)))).toBeGreaterThan(0.2);
  }, 30_000);

  it("without partTarget, every fragment is its own part", async () => {
    const bytes = await encode("30", partFragmentDuration(30));
    const events = packageAll(bytes);
    const frames = partsOf(events).filter((p) => p.duration > 0);
    // About one part per frame: 4.5 s at 30 fps (the first frame is stretched back to time 0 by FFmpeg).
    expect(frames.length).toBeGreaterThan(120);
    expect(Math.max(...frames.slice(1).map((p) => p.duration))).toBeLessThan(0.035);
  }, 30_000);

  it("refuses a non-positive partTarget", () => {
    expect(() => new CmafPackager({ segmentTarget: 2, partTarget: 0 })).toThrow(RangeError);
  });
});

describe("CmafPackager partTarget on synthetic per-frame fragments", () => {
  const SYNC = 0x02000000;
  const NON_SYNC = 0x01010000;
  const traf = (track: number, time: number, duration: number, flags: number | null) =>
    box(
      "traf",
      fullBox("tfhd", 0, 0x020000, u32(track)),
      fullBox("tfdt", 1, 0, u64(time)),
      flags === null ? fullBox("trun", 0, 0x100, u32(1), u32(duration)) : fullBox("trun", 0, 0x104, u32(1), u32(flags), u32(duration)),
    );
  /** One fragment: a video frame (30 fps, 90 kHz) and/or an AAC frame (48 kHz). */
  const fragment = (seq: number, video: { frame: number; key: boolean } | null, audio: number | null) =>
    bytes(
      box(
        "moof",
        fullBox("mfhd", 0, 0, u32(seq)),
        ...(video ? [traf(1, video.frame * 3000, 3000, video.key ? SYNC : NON_SYNC)] : []),
        ...(audio !== null ? [traf(2, audio * 1024, 1024, null)] : []),
      ),
      box("mdat", new Uint8Array(16)),
    );

  it("carries an audio-only fragment before a segment's keyframe into that segment's first part, never a 0 s part", () => {
    const init = bytes(
      box("ftyp", ascii("iso6"), u32(0), ascii("iso6")),
      moov([
        { id: 1, handler: "vide", timescale: 90000 },
        { id: 2, handler: "soun", timescale: 48000 },
      ]),
    );
    const chunks = [init];
    let seq = 1;
    for (let frame = 0; frame < 60; frame += 1) chunks.push(fragment(seq++, { frame, key: frame === 0 }, frame));
    const carried = fragment(seq++, null, 60);
    chunks.push(carried);
    for (let frame = 60; frame < 65; frame += 1) chunks.push(fragment(seq++, { frame, key: frame === 60 }, frame + 1));
    const events = packageAll(concat(chunks), 0.5);
    const parts = partsOf(events);
    const segments = segmentsOf(events);
    expect(segments.map((s) => [s.index, s.partCount])).toEqual([
      [0, 4],
      [1, 1],
    ]);
    expect(parts.map((p) => [p.segmentIndex, p.index, Number(p.duration.toFixed(4)), p.independent])).toEqual([
      [0, 0, 0.5, true],
      [0, 1, 0.5, false],
      [0, 2, 0.5, false],
      [0, 3, 0.5, false],
      [1, 0, 0.1667, true],
    ]);
    expect(parts[4]!.startTime).toBeCloseTo(2, 9);
    expect(parts[4]!.bytes.subarray(0, carried.byteLength)).toEqual(carried);
    for (const segment of segments) expect(concat(parts.filter((p) => p.segmentIndex === segment.index).map((p) => p.bytes))).toEqual(segment.bytes);
  });
});
