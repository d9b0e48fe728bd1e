// Real FFmpeg: a publisher's FLV fed through stdin as the node does, then every rendition's frames, keyframes and
// packaged segments. Publishers' video starts ~21 ms after their AAC audio; with FFmpeg's cfr default for mp4 that
// late first frame was duplicated, so each encoded rung had one frame more than the source and, when the publish
// ended on a segment boundary, a last segment of one 33 ms keyframe.
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { TEST_LADDER } from "../../../../protocol/ladder.ts";
import { timingFor } from "../../../../protocol/latency.ts";
import { CmafPackager, type SegmentEvent } from "../../../../ingest-node/src/packager/packager.ts";
import { buildFfmpegArgs } from "../../../../ingest-node/src/transcode/ffmpeg-args.ts";
import { startFfmpeg } from "../../../../ingest-node/src/transcode/ffmpeg-process.ts";
import { planLadder, type SourceInfo } from "../../../../ingest-node/src/transcode/ladder-plan.ts";
import { testFlvArgs, useRealFfmpeg } from "./real-ffmpeg.ts";

const run = promisify(execFile);
const FPS = 30;
const SECONDS = 4;
const FRAMES = FPS * SECONDS;
const SOURCE: SourceInfo = { width: 640, height: 360, fps: FPS, videoCodec: "h264", audioCodec: "aac", keyframeInterval: 2 };

const ffmpeg = useRealFfmpeg("frame-count-");

/** What one rendition came out as. */
interface Rendition {
  frames: number;
  /** pts (s) of the video keyframes, in presentation order. */
  keyframes: number[];
  /** Decode-order indexes of the video keyframes. */
  keyframeIndexes: number[];
  segments: SegmentEvent[];
}

async function probeRendition(file: string, bytes: Uint8Array): Promise<Rendition> {
  const { stdout: count } = await run(ffmpeg.ffprobe, [
    "-v",
    "error",
    "-count_frames",
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=nb_read_frames",
    "-of",
    "csv=p=0",
    file,
  ]);
  const { stdout: packets } = await run(ffmpeg.ffprobe, [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_entries",
    "packet=pts_time,flags",
    "-of",
    "csv=p=0",
    file,
  ]);
  const rows = packets
    .trim()
    .split("\n")
    .map((line) => line.split(","));
  const keyRows = rows.map((row, index) => ({ pts: Number(row[0]), key: row[1]?.startsWith("K") ?? false, index })).filter((r) => r.key);
  const packager = new CmafPackager({ segmentTarget: timingFor("low").segmentTarget });
  const events = [...packager.push(bytes), ...packager.end()];
  return {
    frames: Number(count.trim()),
    keyframes: keyRows.map((r) => r.pts).sort((a, b) => a - b),
    keyframeIndexes: keyRows.map((r) => r.index),
    segments: events.filter((e): e is SegmentEvent => e.type === "segment"),
  };
}

/** Publishes `SECONDS` s of testsrc2 + sine as FLV through the node's stdin path; returns each rendition. */
async function transcodeFlv(name: string, encoderOptions: string[]): Promise<Map<string, Rendition>> {
  const flv = join(ffmpeg.dir, `${name}.flv`);
  await run(
    ffmpeg.bin.ffmpeg,
    testFlvArgs({ size: "640x360", fps: FPS, seconds: SECONDS, gop: 60, sine: "sine=frequency=440:sample_rate=48000", encoder: encoderOptions }, flv),
  );
  // The condition that triggered the duplicate: video starting over half a frame after the audio.
  const { stdout: starts } = await run(ffmpeg.ffprobe, ["-v", "error", "-show_entries", "stream=codec_type,start_time", "-of", "csv=p=0", flv]);
  const start = Object.fromEntries(
    starts
      .trim()
      .split("\n")
      .map((line) => line.split(",") as [string, string]),
  );
  expect(Number(start.video) - Number(start.audio)).toBeGreaterThan(0.5 / FPS);

  const timing = timingFor("low");
  const args = buildFfmpegArgs({
    input: { url: "pipe:0", format: "flv" },
    plan: planLadder(TEST_LADDER, SOURCE, timing.segmentTarget),
    source: SOURCE,
    mode: "low",
    timing,
    preset: "ultrafast",
    thumbnail: { intervalSeconds: 2 },
  });
  const ff = startFfmpeg({ binary: ffmpeg.bin.ffmpeg, args, stdin: true });
  const names = [...ff.renditions.keys()];
  expect(names).toEqual(["source", "360p", "240p", "160p"]);
  const outputs = Promise.all([...ff.renditions.values()].map(async (s: Readable) => Buffer.concat((await s.toArray()) as Buffer[])));
  const bytes = await readFile(flv);
  for (let i = 0; i < bytes.length; i += 16_384) ff.stdin?.write(bytes.subarray(i, i + 16_384));
  ff.stdin?.end(); // the publisher left: FFmpeg sees EOF, as in the pipeline
  expect(await ff.exited).toEqual({ code: 0, signal: null, stopped: false });
  expect(ff.lastLog()).toEqual([]);
  const result = new Map<string, Rendition>();
  const data = await outputs;
  for (const [i, rendition] of names.entries()) {
    const file = join(ffmpeg.dir, `${name}-${rendition}.mp4`);
    await writeFile(file, data[i]!);
    result.set(rendition, await probeRendition(file, data[i]!));
  }
  return result;
}

describe("encoded renditions at the end of a publish (real ffmpeg)", () => {
  it.each([
    ["a zero-latency publisher (no B-frames)", "zerolatency", ["-preset", "ultrafast", "-tune", "zerolatency"]],
    ["a publisher with B-frames", "bframes", ["-preset", "veryfast"]],
  ])("keep the source's frame count and keyframes, with no short last segment: %s", async (_label, name, options) => {
    const renditions = await transcodeFlv(name, options);
    const source = renditions.get("source")!;
    expect(source.frames).toBe(FRAMES);
    expect(source.keyframeIndexes).toEqual([0, 60]);
    const encoded = [...renditions].filter(([rendition]) => rendition !== "source");
    const reference = encoded[0]![1];
    for (const [rendition, r] of encoded) {
      const what = `${rendition} (${name})`;
      expect(r.frames, `frames of ${what}`).toBe(FRAMES);
      // Keyframes on the source's own keyframes (frames 0 and 60), at the same times in every encoded rung.
      expect(r.keyframeIndexes, `keyframe indexes of ${what}`).toEqual(source.keyframeIndexes);
      expect(r.keyframes, `keyframe times of ${what}`).toEqual(reference.keyframes);
      // Two segments, the last exactly 2 s; before the fix a third one, a single 33 ms keyframe, followed. The first
      // may run longer: the mp4 muxer starts each track's first sample at 0 (for the copy too), stretching it by the
      // video's start offset.
      const ms = r.segments.map((s) => Math.round(s.duration * 1000));
      expect(ms, `segments of ${what}`).toHaveLength(2);
      expect(ms[1], `segments of ${what}`).toBe(2000);
      expect(ms[0], `segments of ${what}`).toBeGreaterThanOrEqual(2000);
      expect(ms[0], `segments of ${what}`).toBeLessThan(2000 + (2 * 1000) / FPS);
    }
    console.info(
      `[frame-count] ${name}: ` +
        [...renditions]
          .map(
            ([n, r]) =>
              `${n} ${r.frames} frames, keys [${r.keyframes.map((t) => t.toFixed(3))}], ` + `segments [${r.segments.map((s) => s.duration.toFixed(3))}]`,
          )
          .join("; "),
    );
  });
});
