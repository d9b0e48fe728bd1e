// Real FFmpeg: the small test ladder from a lavfi pattern, through ffmpeg-process.ts.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_LADDER } from "../../../../protocol/ladder.ts";
import { type LatencyMode, timingFor } from "../../../../protocol/latency.ts";
import { buildFfmpegArgs, type FfmpegArgsOptions } from "../../../../ingest-node/src/transcode/ffmpeg-args.ts";
import { type FfmpegBinaries, ffmpegLocations, findFfmpeg } from "../../../../ingest-node/src/transcode/ffmpeg-binary.ts";
import { startFfmpeg } from "../../../../ingest-node/src/transcode/ffmpeg-process.ts";
import { jpegDimensions } from "../../../../ingest-node/src/transcode/jpeg-splitter.ts";
import { planLadder, type SourceInfo } from "../../../../ingest-node/src/transcode/ladder-plan.ts";
import type { ProgressSnapshot } from "../../../../ingest-node/src/transcode/progress-parser.ts";
import { testFlvArgs } from "./real-ffmpeg.ts";

const run = promisify(execFile);
const SOURCE: SourceInfo = { width: 640, height: 360, fps: 30, videoCodec: "rawvideo", audioCodec: "pcm", keyframeInterval: null };

let bin: FfmpegBinaries;
let dir: string;
beforeAll(async () => {
  bin = await findFfmpeg(ffmpegLocations(process.env), { logger: { warn: () => {} } });
  dir = await mkdtemp(join(tmpdir(), "transcode-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Args for the test pattern: `seconds` of 640x360@30 + a sine, or endless in real time when seconds is null. */
function lavfiOptions(mode: LatencyMode, seconds: number | null, extra: Partial<FfmpegArgsOptions> = {}): FfmpegArgsOptions {
  const timing = timingFor(mode);
  const inputOptions = seconds === null ? ["-re"] : ["-t", String(seconds)];
  return {
    input: { url: "testsrc2=size=640x360:rate=30", format: "lavfi", options: inputOptions },
    audioInput: { url: "sine=frequency=440:sample_rate=48000", format: "lavfi", options: inputOptions },
    plan: planLadder(TEST_LADDER, SOURCE, timing.segmentTarget),
    source: SOURCE,
    mode,
    timing,
    preset: "ultrafast",
    ...extra,
  };
}

/** Top-level ISO BMFF boxes as [type, size]; throws on a truncated box. */
function boxes(data: Buffer): [string, number][] {
  const out: [string, number][] = [];
  for (let i = 0; i < data.length; ) {
    const size = data.readUInt32BE(i);
    const type = data.toString("latin1", i + 4, i + 8);
    if (size < 8 || i + size > data.length) throw new Error(`truncated ${type} box at ${i}`);
    out.push([type, size]);
    i += size;
  }
  return out;
}

async function collect(stream: Readable): Promise<Buffer> {
  return Buffer.concat((await stream.toArray()) as Buffer[]);
}

describe("FfmpegProcess (real ffmpeg)", () => {
  it("encodes the small ladder to CMAF pipes with progress and thumbnails, and exits 0", async () => {
    const args = buildFfmpegArgs(lavfiOptions("low", 5, { thumbnail: { intervalSeconds: 1 } }));
    const started = performance.now();
    const ff = startFfmpeg({ binary: bin.ffmpeg, args });
    const progress: ProgressSnapshot[] = [];
    const thumbs: Buffer[] = [];
    ff.on("progress", (p) => progress.push(p));
    ff.on("thumbnail", (jpeg) => thumbs.push(jpeg));
    expect([...ff.renditions.keys()]).toEqual(["360p", "240p", "160p"]);
    const outputs = await Promise.all([...ff.renditions.values()].map(collect));
    const exit = await ff.exited;
    const wallSeconds = (performance.now() - started) / 1000;

    expect(exit).toEqual({ code: 0, signal: null, stopped: false });
    expect(ff.lastLog()).toEqual([]);
    for (const data of outputs) {
      expect(data.length).toBeGreaterThan(0);
      expect(data.toString("latin1", 4, 8)).toBe("ftyp");
      const types = boxes(data).map(([type]) => type);
      expect(types.slice(0, 2)).toEqual(["ftyp", "moov"]);
      // 5 s in 0.5 s fragments, and no mfra trailer after the last one.
      expect(types.filter((t) => t === "moof").length).toBeGreaterThanOrEqual(9);
      expect(types.at(-1)).toBe("mdat");
    }
    expect(outputs[0]!.length).toBeGreaterThan(outputs[2]!.length);

    expect(progress.length).toBeGreaterThan(0);
    expect(progress.some((p) => (p.speed ?? 0) > 0)).toBe(true);
    expect(progress.at(-1)?.end).toBe(true);
    expect(ff.lastProgress?.frame).toBeGreaterThanOrEqual(149);

    expect(thumbs.length).toBe(5); // t = 0, 1, 2, 3, 4 s
    for (const jpeg of thumbs) {
      expect([jpeg[0], jpeg[1], jpeg.at(-2), jpeg.at(-1)]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
      expect(jpegDimensions(jpeg)).toEqual({ width: 640, height: 360 });
    }
    console.info(
      `small ladder, 5 s of 640x360@30 to 360p/240p/160p (ultrafast): ${wallSeconds.toFixed(2)} s wall, ` + `ffmpeg speed ${progress.at(-1)?.speed}x`,
    );
  });

  it("puts keyframes at the same timestamps in every rendition, on segment boundaries", async () => {
    const out = join(dir, "aligned");
    await run("mkdir", ["-p", out]);
    const args = buildFfmpegArgs(lavfiOptions("low", 7, { outputDir: out, preset: "veryfast" }));
    expect(args.outputs.size).toBe(0);
    const exit = await startFfmpeg({ binary: bin.ffmpeg, args }).exited;
    expect(exit.code).toBe(0);
    const keyframes: number[][] = [];
    for (const rung of TEST_LADDER) {
      const { stdout } = await run(bin.ffprobe ?? "ffprobe", [
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "packet=pts_time,flags",
        "-of",
        "csv=p=0",
        join(out, `${rung.name}.mp4`),
      ]);
      keyframes.push(
        stdout
          .trim()
          .split("\n")
          .filter((line) => line.split(",")[1]?.startsWith("K"))
          .map((line) => Number(line.split(",")[0])),
      );
    }
    expect(keyframes[0]!.length).toBe(4); // 0, 2, 4, 6 s
    expect(keyframes[1]).toEqual(keyframes[0]);
    expect(keyframes[2]).toEqual(keyframes[0]);
    const gaps = keyframes[0]!.slice(1).map((t, i) => t - keyframes[0]![i]!);
    // The first gap is longer by the AAC priming delay (1024/48000 s): FFmpeg shifts video after its first frame.
    for (const gap of gaps) expect(Math.abs(gap - 2)).toBeLessThan(0.03);
    const progressText = await readFile(join(out, "progress.txt"), "utf8");
    expect(progressText).toMatch(/progress=end/);
  });

  it("stop() ends a live process within seconds, flushing whole fragments", async () => {
    const args = buildFfmpegArgs(lavfiOptions("interactive", null, { thumbnail: { intervalSeconds: 1 } }));
    const ff = startFfmpeg({ binary: bin.ffmpeg, args });
    const outputs = Promise.all([...ff.renditions.values()].map(collect));
    await new Promise<void>((resolve) => ff.once("progress", () => resolve()));
    await new Promise((r) => setTimeout(r, 1200));
    const started = performance.now();
    const exit = await ff.stop();
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(3000);
    expect(exit.stopped).toBe(true);
    expect(exit.signal).toBeNull(); // SIGINT made FFmpeg exit by itself (code 255), not the SIGKILL fallback
    expect(exit.code).toBe(255);
    for (const data of await outputs) {
      const types = boxes(data).map(([type]) => type); // throws if the last fragment was cut short
      expect(types.at(-1)).toBe("mdat");
    }
    expect(ff.hasExited).toBe(true);
    await expect(ff.stop()).resolves.toEqual(exit);
    console.info(`stop(): ${elapsed.toFixed(0)} ms from SIGINT to exit`);
  });

  it("transcodes FLV fed through stdin, copying an H.264 source with fitting keyframes", async () => {
    const flv = join(dir, "publisher.flv");
    await run(bin.ffmpeg, testFlvArgs({ size: "426x240", fps: 30, seconds: 4, gop: 60, sine: "sine", encoder: ["-preset", "ultrafast"] }, flv));
    const source: SourceInfo = { width: 426, height: 240, fps: 30, videoCodec: "h264", audioCodec: "aac", keyframeInterval: 2 };
    const timing = timingFor("low");
    const args = buildFfmpegArgs({
      input: { url: "pipe:0", format: "flv" },
      plan: planLadder(TEST_LADDER, source, timing.segmentTarget),
      source,
      mode: "low",
      timing,
      preset: "ultrafast",
    });
    const ff = startFfmpeg({ binary: bin.ffmpeg, args, stdin: true });
    expect([...ff.renditions.keys()]).toEqual(["source", "240p", "160p"]);
    const outputs = Promise.all([...ff.renditions.values()].map(collect));
    const bytes = await readFile(flv);
    for (let i = 0; i < bytes.length; i += 16_384) ff.stdin?.write(bytes.subarray(i, i + 16_384));
    ff.stdin?.end();
    expect(await ff.exited).toEqual({ code: 0, signal: null, stopped: false });
    for (const data of await outputs) {
      expect(
        boxes(data)
          .map(([type]) => type)
          .slice(0, 3),
      ).toEqual(["ftyp", "moov", "moof"]);
    }
  });

  it("stop() also ends a process waiting on a silent stdin feed", async () => {
    const source: SourceInfo = { ...SOURCE, videoCodec: "h264", audioCodec: "aac" };
    const args = buildFfmpegArgs({
      input: { url: "pipe:0", format: "flv" },
      plan: planLadder(TEST_LADDER, source, 2),
      source,
      mode: "low",
      timing: timingFor("low"),
      preset: "ultrafast",
    });
    const ff = startFfmpeg({ binary: bin.ffmpeg, args, stdin: true, stopTimeoutMs: 10_000 });
    for (const s of ff.renditions.values()) s.resume();
    await new Promise((r) => setTimeout(r, 500));
    const started = performance.now();
    const exit = await ff.stop();
    expect(exit.signal).toBeNull();
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it("stop() falls back to SIGKILL when the process ignores SIGINT", async () => {
    const ff = startFfmpeg({
      binary: "/bin/sh",
      args: { args: ["-c", "trap '' INT; exec sleep 30"], outputs: new Map(), fragmentDuration: 1, keyframeInterval: 2 },
      stopTimeoutMs: 300,
    });
    await new Promise((r) => setTimeout(r, 200));
    const started = performance.now();
    const exit = await ff.stop();
    expect(exit.signal).toBe("SIGKILL");
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("reports a missing binary without leaking the input URL", async () => {
    const args = buildFfmpegArgs({
      ...lavfiOptions("low", 1),
      input: { url: "rtmp://127.0.0.1:1/live/sk_topsecret" },
      audioInput: undefined,
    });
    const ff = startFfmpeg({ binary: join(dir, "no-such-ffmpeg"), args });
    const exit = await ff.exited;
    expect(exit.code).toBeNull();
    expect(exit.error?.message).toMatch(/ENOENT/);
    expect(JSON.stringify(exit) + ff.commandLine).not.toContain("sk_topsecret");
    expect(ff.commandLine).toContain("rtmp://127.0.0.1:1/live/<redacted>");
  });

  it("keeps the stream key out of FFmpeg's error lines", async () => {
    const args = buildFfmpegArgs({
      ...lavfiOptions("low", 1),
      input: { url: "rtmp://127.0.0.1:1/live/sk_topsecret" },
      audioInput: undefined,
    });
    const ff = startFfmpeg({ binary: bin.ffmpeg, args });
    const lines: string[] = [];
    ff.on("log", (line) => lines.push(line));
    const exit = await ff.exited;
    expect(exit.code).not.toBe(0);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join("\n")).toContain("<redacted>");
    expect(lines.join("\n")).not.toContain("sk_topsecret");
    expect(ff.lastLog()).toEqual(lines.slice(-50));
  });
});
