// NativeRemux: the `source` copy in the node's own process behind FFmpeg's interface. Real FFmpeg makes the publisher's
// FLV and decodes the thumbnails; nothing else is spawned.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { CmafPackager, type PartEvent, type SegmentEvent } from "../../../../ingest-node/src/packager/packager.ts";
import { closeNodeThumbnails } from "../../../../ingest-node/src/pipeline/keyframe-thumbnail.ts";
import { remuxesNatively, startMediaProcess } from "../../../../ingest-node/src/pipeline/media-process.ts";
import { NativeRemux } from "../../../../ingest-node/src/pipeline/native-remux.ts";
import { jpegDimensions } from "../../../../ingest-node/src/transcode/jpeg-splitter.ts";
import { planLadder } from "../../../../ingest-node/src/transcode/ladder-plan.ts";
import { planPassthrough } from "../../../../ingest-node/src/transcode/passthrough-plan.ts";
import type { ProgressSnapshot } from "../../../../ingest-node/src/transcode/progress-parser.ts";
import { TEST_LADDER } from "../../../../protocol/ladder.ts";
import { useRealFfmpeg } from "../transcode/real-ffmpeg.ts";

const run = promisify(execFile);
const ffmpeg = useRealFfmpeg("native-remux-");
afterAll(() => closeNodeThumbnails());
const SOURCE = { width: 640, height: 360, fps: 30, videoCodec: "h264", audioCodec: "aac", keyframeInterval: 2 };

let made: Promise<Buffer> | null = null;

/** 6 s of 640x360 H.264 (a keyframe every 2 s) + AAC as FLV, made once. */
function publisherFlv(): Promise<Buffer> {
  made ??= makeFlv();
  return made;
}

async function makeFlv(): Promise<Buffer> {
  const flv = join(ffmpeg.dir, "pub.flv");
  await run(ffmpeg.bin.ffmpeg, [
    "-v",
    "error",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=640x360:rate=30",
    "-f",
    "lavfi",
    "-i",
    "sine=sample_rate=48000",
    "-t",
    "6",
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-g",
    "60",
    "-keyint_min",
    "60",
    "-c:a",
    "aac",
    "-f",
    "flv",
    flv,
  ]);
  return readFile(flv);
}

describe("NativeRemux", () => {
  it("is what a passthrough plan starts (REMUX=native), and only then: ladders and REMUX=ffmpeg start FFmpeg", () => {
    const copy = planPassthrough(SOURCE, 2);
    expect(remuxesNatively(copy, "native")).toBe(true);
    expect(remuxesNatively(copy, "ffmpeg")).toBe(false);
    expect(remuxesNatively(planLadder(TEST_LADDER, SOURCE, 2), "native")).toBe(false);
    expect(remuxesNatively(planPassthrough({ ...SOURCE, keyframeInterval: 4 }, 2), "native")).toBe(false);
  });

  it("turns an FLV feed into packager-ready CMAF, thumbnails decoded from keyframes by the node's FFmpeg, progress", async () => {
    const input = await publisherFlv();
    const options = {
      source: SOURCE,
      mode: "low" as const,
      timing: { segmentTarget: 2, partTarget: null },
      ffmpegBinary: ffmpeg.bin.ffmpeg,
      ffmpegFeatures: ffmpeg.bin.features,
      preset: "ultrafast",
      thumbnailIntervalS: 2,
    };
    const proc = startMediaProcess({ ...options, plan: planPassthrough(SOURCE, 2), remux: "native" });
    expect(proc).toBeInstanceOf(NativeRemux);
    expect(proc.pid).toBeUndefined();
    const thumbnails: Buffer[] = [];
    const progress: ProgressSnapshot[] = [];
    proc.on("thumbnail", (jpeg) => thumbnails.push(jpeg));
    proc.on("progress", (p) => progress.push(p));
    const output = proc.renditions.get("source")!.toArray();
    for (let i = 0; i < input.byteLength; i += 16_384) proc.stdin!.write(input.subarray(i, i + 16_384));
    proc.stdin!.end();
    expect(await proc.exited).toEqual({ code: 0, signal: null, stopped: false });
    expect(proc.hasExited).toBe(true);
    const packager = new CmafPackager({ segmentTarget: 2, parts: false });
    const events = [...packager.push(Buffer.concat((await output) as Buffer[])), ...packager.end()];
    // FLV times are whole milliseconds: the last frame lasts as long as the one before it (33 or 34 ms).
    expect(events.filter((e): e is SegmentEvent => e.type === "segment").map((s) => Math.round(s.duration * 100) / 100)).toEqual([2, 2, 2]);
    // The feed came all at once: while the first keyframe was decoded the second was superseded by the third (only the
    // newest waits), and the end waited for the last decode.
    expect(thumbnails).toHaveLength(2);
    for (const jpeg of thumbnails) expect(jpegDimensions(jpeg)).toEqual({ width: 640, height: 360 });
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ end: true, frame: 180 });
  });

  it("with LL-HLS parts writes a fragment per frame, which the packager joins into parts of at most PART-TARGET", async () => {
    const input = await publisherFlv();
    const options = {
      source: SOURCE,
      mode: "interactive" as const,
      timing: { segmentTarget: 2, partTarget: 0.3 },
      ffmpegBinary: ffmpeg.bin.ffmpeg,
      ffmpegFeatures: ffmpeg.bin.features,
      preset: "ultrafast",
      thumbnailIntervalS: 60,
    };
    const proc = startMediaProcess({ ...options, plan: planPassthrough(SOURCE, 2), remux: "native" });
    const output = proc.renditions.get("source")!.toArray();
    proc.stdin!.end(input);
    await proc.exited;
    const bytes = Buffer.concat((await output) as Buffer[]);
    const packager = new CmafPackager({ segmentTarget: 2, parts: true, partTarget: 0.3 });
    const events = [...packager.push(bytes), ...packager.end()];
    const parts = events.filter((e): e is PartEvent => e.type === "part");
    // 30 fps with 33/34 ms FLV frames: 9 frames (0.300 or 0.301 s) would outlast 0.3 s at times, so 8 or 9, never more.
    expect(parts.length).toBeGreaterThanOrEqual(20);
    for (const part of parts) expect(part.duration).toBeLessThanOrEqual(0.3 + 1e-9);
    expect(events.filter((e) => e.type === "segment")).toHaveLength(3);
  });

  it("ends with an error a restart can report when the feed is not FLV; kill() ends at once as stopped", async () => {
    const bad = new NativeRemux({ rendition: "source", fragmentDuration: 0.5, thumbnails: null });
    const out = bad.renditions.get("source")!.toArray();
    bad.stdin.write(Buffer.from("not an flv stream at all"));
    const exit = await bad.exited;
    expect(exit.code).toBe(1);
    expect(bad.describeExit(exit)).toMatch(/^remux failed: the input does not start with an FLV header/);
    expect(await out).toEqual([]);

    const killed = new NativeRemux({ rendition: "source", fragmentDuration: 0.5, thumbnails: null });
    killed.stdin.write((await publisherFlv()).subarray(0, 50_000));
    expect(await killed.kill()).toMatchObject({ stopped: true, signal: "SIGKILL" });
    expect(killed.stdin.writable).toBe(false);
  });

  it("holds the feed back while its output is not read, so the feed's byte bound sees a stalled packager", async () => {
    const remux = new NativeRemux({ rendition: "source", fragmentDuration: 0.5, thumbnails: null });
    const input = await publisherFlv();
    for (let i = 0; i < input.byteLength; i += 16_384) remux.stdin.write(input.subarray(i, i + 16_384));
    await sleep(50);
    // The output's 4 MiB buffer is more than this 6 s file: nothing backs up yet.
    expect(remux.stdin.writableLength).toBe(0);
    const big = new NativeRemux({ rendition: "source", fragmentDuration: 0.5, thumbnails: null });
    // Seven times the file's tags (their timestamps start over; the remuxer forces them forward), never read: past the
    // output's 4 MiB the writes wait, and the feed sees them as bytes FFmpeg has not taken.
    big.stdin.write(input);
    const body = input.subarray(13);
    for (let i = 0; i < 6; i++) big.stdin.write(body);
    await sleep(50);
    expect(big.stdin.writableLength).toBeGreaterThan(0);
    await big.kill();
    await remux.kill();
  });
});
