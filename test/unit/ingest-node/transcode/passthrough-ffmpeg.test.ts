// Real FFmpeg: a passthrough node's plans on a publisher's FLV fed through stdin as the node does. The copy-only plan
// must keep every frame and still produce thumbnails (decoded from the input's keyframes only); the fallback for a
// source that cannot be copied encodes one rendition with keyframes on the segment target.
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { timingFor } from "../../../../protocol/latency.ts";
import { CmafPackager, type SegmentEvent } from "../../../../ingest-node/src/packager/packager.ts";
import { buildFfmpegArgs } from "../../../../ingest-node/src/transcode/ffmpeg-args.ts";
import { startFfmpeg } from "../../../../ingest-node/src/transcode/ffmpeg-process.ts";
import { jpegDimensions } from "../../../../ingest-node/src/transcode/jpeg-splitter.ts";
import type { SourceInfo } from "../../../../ingest-node/src/transcode/ladder-plan.ts";
import { planPassthrough } from "../../../../ingest-node/src/transcode/passthrough-plan.ts";
import { testFlvArgs, useRealFfmpeg } from "./real-ffmpeg.ts";

const run = promisify(execFile);
const FPS = 30;
const SECONDS = 6;
const FRAMES = FPS * SECONDS;
const TIMING = timingFor("low"); // 2 s segments

const ffmpeg = useRealFfmpeg("passthrough-");

/** What one rendition came out as. */
interface Output {
  codec: string;
  frames: number;
  /** Decode-order indexes of the video keyframes. */
  keyframeIndexes: number[];
  segments: SegmentEvent[];
}

/** A publisher's FLV: SECONDS of 640x360 testsrc2 + sine, H.264 with a keyframe every `gopSeconds`, AAC. */
async function publisherFlv(name: string, gopSeconds: number): Promise<string> {
  const flv = join(ffmpeg.dir, `${name}.flv`);
  await run(
    ffmpeg.bin.ffmpeg,
    testFlvArgs(
      { size: "640x360", fps: FPS, seconds: SECONDS, gop: FPS * gopSeconds, sine: "sine=frequency=440:sample_rate=48000", encoder: ["-preset", "ultrafast"] },
      flv,
    ),
  );
  return flv;
}

/** Runs the passthrough plan for `source` on `flv` through stdin; returns each rendition and the thumbnails. */
async function runPassthrough(flv: string, source: SourceInfo, thumbnailSeconds: number) {
  const plan = planPassthrough(source, TIMING.segmentTarget);
  const args = buildFfmpegArgs({
    input: { url: "pipe:0", format: "flv" },
    plan,
    source,
    mode: "low",
    timing: TIMING,
    preset: "ultrafast",
    thumbnail: { intervalSeconds: thumbnailSeconds },
  });
  const ff = startFfmpeg({ binary: ffmpeg.bin.ffmpeg, args, stdin: true });
  const thumbnails: Buffer[] = [];
  ff.on("thumbnail", (jpeg) => thumbnails.push(jpeg));
  const names = [...ff.renditions.keys()];
  const data = Promise.all([...ff.renditions.values()].map(async (s: Readable) => Buffer.concat((await s.toArray()) as Buffer[])));
  const bytes = await readFile(flv);
  for (let i = 0; i < bytes.length; i += 16_384) ff.stdin?.write(bytes.subarray(i, i + 16_384));
  ff.stdin?.end();
  const exit = await ff.exited;
  const outputs = new Map<string, Output>();
  for (const [i, bytes] of (await data).entries()) {
    const file = join(ffmpeg.dir, `${names[i]}-${Date.now()}.mp4`);
    await writeFile(file, bytes);
    outputs.set(names[i]!, await probe(file, bytes));
  }
  return { plan, args: args.args, exit, log: ff.lastLog(), outputs, thumbnails, progress: ff.lastProgress };
}

async function probe(file: string, bytes: Uint8Array): Promise<Output> {
  const { stdout: stream } = await run(ffmpeg.ffprobe, [
    "-v",
    "error",
    "-count_frames",
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=codec_name,nb_read_frames",
    "-of",
    "csv=p=0",
    file,
  ]);
  const { stdout: packets } = await run(ffmpeg.ffprobe, ["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=flags", "-of", "csv=p=0", file]);
  const [codec, frames] = stream.trim().split(",");
  const packager = new CmafPackager({ segmentTarget: TIMING.segmentTarget });
  const events = [...packager.push(bytes), ...packager.end()];
  return {
    codec: codec ?? "",
    frames: Number(frames),
    keyframeIndexes: packets
      .trim()
      .split("\n")
      .flatMap((flags, index) => (flags.startsWith("K") ? [index] : [])),
    segments: events.filter((e): e is SegmentEvent => e.type === "segment"),
  };
}

const SOURCE: SourceInfo = { width: 640, height: 360, fps: FPS, videoCodec: "h264", audioCodec: "aac", keyframeInterval: 2 };

describe("passthrough plans (real ffmpeg)", () => {
  it("copies a fitting H.264 source as the only rendition, every frame kept, with thumbnails", async () => {
    const result = await runPassthrough(await publisherFlv("copy", 2), SOURCE, 1);
    expect(result.exit).toEqual({ code: 0, signal: null, stopped: false });
    expect(result.log).toEqual([]);
    expect(result.args).not.toContain("libx264");
    expect([...result.outputs.keys()]).toEqual(["source"]);
    const source = result.outputs.get("source")!;
    expect(source.codec).toBe("h264");
    expect(source.frames).toBe(FRAMES);
    expect(source.keyframeIndexes).toEqual([0, 60, 120]);
    expect(source.segments.map((s) => Math.round(s.duration))).toEqual([2, 2, 2]);
    // A thumbnail a second asked for, but only the keyframes (0, 2 and 4 s) are decoded: three, at the source size.
    expect(result.args.join(" ")).toContain("-skip_frame nokey -f flv -i pipe:0");
    expect(result.thumbnails).toHaveLength(3);
    for (const jpeg of result.thumbnails) expect(jpegDimensions(jpeg)).toEqual({ width: 640, height: 360 });
    expect(result.progress?.end).toBe(true);
    console.info(
      `[passthrough] copy: ${source.frames} frames, keys ${JSON.stringify(source.keyframeIndexes)}, ` +
        `${result.thumbnails.length} thumbnails, progress frame=${result.progress?.frame}`,
    );
  });

  it("encodes one rendition at the source's height when the keyframe interval does not fit the segments", async () => {
    const source = { ...SOURCE, keyframeInterval: 4 };
    const result = await runPassthrough(await publisherFlv("fallback", 4), source, 2);
    expect(result.plan.fallback).toMatch(/keyframe interval 4s exceeds the 2s segment target/);
    expect(result.exit).toEqual({ code: 0, signal: null, stopped: false });
    expect(result.log).toEqual([]);
    expect([...result.outputs.keys()]).toEqual(["360p"]);
    const encoded = result.outputs.get("360p")!;
    expect(encoded.codec).toBe("h264");
    expect(encoded.frames).toBe(FRAMES);
    // The encoder keys every 2 s, whatever the publisher's 4 s GOP.
    expect(encoded.keyframeIndexes).toEqual([0, 60, 120]);
    // The encoder decodes every frame, so the thumbnails follow their own interval, not the source's keyframes.
    expect(result.args).not.toContain("-skip_frame");
    expect(result.thumbnails).toHaveLength(3);
  });
});
