import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_LADDER } from "../../../../protocol/ladder.ts";
import { findFfmpeg } from "../../../../ingest-node/src/transcode/ffmpeg-binary.ts";
import { planLadder } from "../../../../ingest-node/src/transcode/ladder-plan.ts";
import { ProbeError, probe, regularInterval, summarise } from "../../../../ingest-node/src/transcode/probe.ts";
import { testFlvArgs } from "./real-ffmpeg.ts";

const run = promisify(execFile);
let ffprobe: string;
let dir: string;
let file: string;

beforeAll(async () => {
  const bin = await findFfmpeg({ env: process.env, logger: { warn: () => {} } });
  ffprobe = bin.ffprobe ?? "ffprobe";
  dir = await mkdtemp(join(tmpdir(), "probe-"));
  file = join(dir, "gop1s.flv");
  // What a publisher sends: H.264 with a 1 s GOP (30 frames at 30 fps) and AAC, in FLV.
  await run(bin.ffmpeg, testFlvArgs({ size: "426x240", fps: 30, seconds: 4, gop: 30, sine: "sine", encoder: ["-preset", "ultrafast"] }, file));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("probe", () => {
  it("reads size, rate, codecs and the keyframe interval of a real file", async () => {
    const result = await probe(file, { ffprobe, keyframeWindowSeconds: 3 });
    expect(result).toMatchObject({
      width: 426,
      height: 240,
      fps: 30,
      videoCodec: "h264",
      audioCodec: "aac",
      keyframeInterval: 1,
      displayAspectRatio: null,
    });
    expect(result.keyframeGaps.length).toBeGreaterThanOrEqual(2);
    expect(planLadder(TEST_LADDER, result, 2).renditions.map((r) => r.name)).toEqual(["source", "240p", "160p"]);
  });

  it("skips the packet read unless asked, and fails without leaking the URL", async () => {
    expect((await probe(file, { ffprobe })).keyframeInterval).toBeNull();
    const failed = probe("rtmp://127.0.0.1:1/live/sk_probe_secret", { ffprobe, timeoutMs: 3000 });
    await expect(failed).rejects.toBeInstanceOf(ProbeError);
    await failed.catch((e: Error) => expect(e.message).not.toContain("sk_probe_secret"));
  });
});

describe("summarise", () => {
  it("reads NTSC rates and non-square pixels", () => {
    const s = summarise({
      streams: [{ index: 0, codec_type: "video", codec_name: "h264", width: 1440, height: 1080, avg_frame_rate: "30000/1001", sample_aspect_ratio: "4:3" }],
    });
    expect(s).toMatchObject({ fps: 29.97, audioCodec: null, displayAspectRatio: 16 / 9, keyframeInterval: null });
  });

  it("refuses inputs without video and irregular keyframes", () => {
    expect(() => summarise({ streams: [{ index: 0, codec_type: "audio", codec_name: "aac" }] })).toThrow(/no video/);
    expect(regularInterval([2, 2, 2.001], 0.05)).toBe(2);
    expect(regularInterval([2, 0.7, 2], 0.05)).toBeNull();
    expect(regularInterval([], 0.05)).toBeNull();
  });
});
