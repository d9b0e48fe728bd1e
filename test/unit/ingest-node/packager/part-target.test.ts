// Parts within PART-TARGET on real FFmpeg output: the node's per-frame fragments joined by the packager, against
// FFmpeg's own fragments of the part target (which outlast it at 25 and 29.97 fps, and in the first part at any rate).
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { PackagerEvent, PartEvent, SegmentEvent } from "../../../../ingest-node/src/packager/packager.ts";
import { CmafPackager } from "../../../../ingest-node/src/packager/packager.ts";
import { partFragmentDuration } from "../../../../ingest-node/src/transcode/ffmpeg-args.ts";
import { concat } from "./fixtures.ts";

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
