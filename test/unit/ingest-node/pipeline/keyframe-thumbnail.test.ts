// Keyframe thumbnails in batches: the Annex B access unit each keyframe becomes, how the batcher groups, maps and
// retries (a fake runner), and real FFmpeg decoding keyframes of two publishes of different sizes in one run.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { type KeyframeThumbnailRequest, ThumbnailBatcher } from "../../../../ingest-node/src/pipeline/keyframe-thumbnail.ts";
import { keyframeAnnexB } from "../../../../ingest-node/src/remux/annexb.ts";
import { RemuxError } from "../../../../ingest-node/src/remux/errors.ts";
import { FlvReader } from "../../../../ingest-node/src/remux/flv-reader.ts";
import { runFfmpegJpegs } from "../../../../ingest-node/src/transcode/ffmpeg-jpeg.ts";
import { jpegDimensions } from "../../../../ingest-node/src/transcode/jpeg-splitter.ts";
import { testFlvArgs, useRealFfmpeg } from "../transcode/real-ffmpeg.ts";

const run = promisify(execFile);
const ffmpeg = useRealFfmpeg("keyframe-thumbnail-");

const SPS = [0x67, 0x64, 0x00, 0x1f, 0xac];
const PPS = [0x68, 0xee, 0x3c, 0x80];
/** avcC: version 1, profile/compat/level, 4-byte lengths, one SPS, one PPS. */
const AVCC = Uint8Array.from([1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, SPS.length, ...SPS, 1, 0, PPS.length, ...PPS]);
const lengthPrefixed = (...nals: number[][]) => Uint8Array.from(nals.flatMap((nal) => [0, 0, 0, nal.length, ...nal]));
const annexB = (...nals: number[][]) => nals.flatMap((nal) => [0, 0, 0, 1, ...nal]);

describe("keyframeAnnexB", () => {
  it("writes a delimiter, the configuration's SPS and PPS, then the frame's NAL units (its own delimiter dropped)", () => {
    const sample = lengthPrefixed([0x09, 0xf0], [0x06, 5, 1, 2], [0x65, 0x88, 0x84]);
    expect(Array.from(keyframeAnnexB(AVCC, sample))).toEqual(annexB([0x09, 0x10], SPS, PPS, [0x06, 5, 1, 2], [0x65, 0x88, 0x84]));
  });

  it("refuses a configuration or a frame whose lengths overrun it", () => {
    expect(() => keyframeAnnexB(AVCC.subarray(0, 10), lengthPrefixed([0x65]))).toThrow(RemuxError);
    expect(() => keyframeAnnexB(AVCC, Uint8Array.from([0, 0, 0, 9, 0x65]))).toThrow(/overruns/);
    expect(() => keyframeAnnexB(AVCC, Uint8Array.from([0, 0]))).toThrow(/truncated/);
  });
});

/** A fake runner: one "JPEG" per keyframe holding its first slice byte, or fewer when a keyframe holds 0xbad. */
function fakeRunner() {
  const runs: { args: string[]; keyframes: number }[] = [];
  const runner = async (args: string[], input: Uint8Array[]) => {
    runs.push({ args, keyframes: input.length });
    const good = input.filter((unit) => !Buffer.from(unit).includes(Buffer.from([0x0b, 0xad])));
    return good.map((unit) => Buffer.from([unit.at(-1)!]));
  };
  return { runs, runner };
}

const request = (id: number, extra: Partial<KeyframeThumbnailRequest> = {}): KeyframeThumbnailRequest => ({
  avcC: AVCC,
  keyframe: lengthPrefixed([0x65, id]),
  width: 640,
  height: 360,
  ...extra,
});

describe("ThumbnailBatcher", () => {
  it("decodes the keyframes due within the window in one run per picture size, each gets its own picture", async () => {
    const { runs, runner } = fakeRunner();
    const batcher = new ThumbnailBatcher({ run: runner, windowMs: 30 });
    const pictures = Promise.all([batcher.decode(request(1)), batcher.decode(request(2, { width: 480 })), batcher.decode(request(3))]);
    expect(batcher.queued).toBe(3);
    expect((await pictures).map((jpeg) => jpeg[0])).toEqual([1, 2, 3]);
    expect(runs.map((r) => [r.args[r.args.indexOf("-vf") + 1]!.split(":").slice(0, 2).join(":"), r.keyframes])).toEqual([
      ["scale=640:360", 2],
      ["scale=480:360", 1],
    ]);
    expect(batcher.runs).toBe(2);
  });

  it("runs a full batch at once, a keyframe with a shorter wait sooner, and everything on flush()", async () => {
    const { runs, runner } = fakeRunner();
    const batcher = new ThumbnailBatcher({ run: runner, windowMs: 60_000, maxBatch: 2 });
    const full = Promise.all([batcher.decode(request(1)), batcher.decode(request(2))]);
    expect(runs).toHaveLength(1);
    await full;
    const soon = batcher.decode(request(3, { maxWaitMs: 10 }));
    expect(batcher.queued).toBe(1);
    expect((await soon)[0]).toBe(3);
    const late = batcher.decode(request(4));
    batcher.flush();
    expect((await late)[0]).toBe(4);
    expect(runs.map((r) => r.keyframes)).toEqual([2, 1, 1]);
  });

  it("retries a batch that gave too few pictures one keyframe per run: only the broken keyframe is lost", async () => {
    const { runs, runner } = fakeRunner();
    const batcher = new ThumbnailBatcher({ run: runner, windowMs: 5 });
    const results = await Promise.allSettled([
      batcher.decode(request(1)),
      batcher.decode(request(0, { keyframe: lengthPrefixed([0x65, 0x0b, 0xad]) })),
      batcher.decode(request(3)),
    ]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value[0] : "lost"))).toEqual([1, "lost", 3]);
    expect(runs.map((r) => r.keyframes)).toEqual([3, 1, 1, 1]);
  });

  it("refuses a keyframe that is not length-prefixed NAL units without running anything", async () => {
    const { runs, runner } = fakeRunner();
    const batcher = new ThumbnailBatcher({ run: runner, windowMs: 5 });
    await expect(batcher.decode(request(1, { keyframe: Uint8Array.from([0, 0, 0, 40, 1]) }))).rejects.toThrow(RemuxError);
    expect(runs).toHaveLength(0);
  });
});

/** The avcC and first keyframe of an FFmpeg-made FLV of `size`. */
async function firstKeyframe(size: string): Promise<{ avcC: Uint8Array; keyframe: Uint8Array }> {
  const out = join(ffmpeg.dir, `${size}.flv`);
  await run(
    ffmpeg.bin.ffmpeg,
    testFlvArgs({ size, fps: 30, seconds: 0.2, gop: 30, sine: "sine", encoder: ["-preset", "veryfast", "-profile:v", "high"] }, out),
  );
  let avcC: Uint8Array | null = null;
  for (const tag of new FlvReader().push(await readFile(out))) {
    if (tag.type !== 9) continue;
    if (tag.payload[1] === 0) avcC = tag.payload.slice(5);
    else if (tag.payload[0]! >> 4 === 1 && avcC) return { avcC, keyframe: tag.payload.slice(5) };
  }
  throw new Error("no keyframe");
}

describe("ThumbnailBatcher with FFmpeg", () => {
  it("decodes keyframes of publishes of different sizes in one run, and loses only a broken one", async () => {
    const [wide, small] = await Promise.all([firstKeyframe("640x360"), firstKeyframe("320x240")]);
    const batcher = new ThumbnailBatcher({ run: (args, input) => runFfmpegJpegs({ binary: ffmpeg.bin.ffmpeg, args, input, what: "test" }), windowMs: 20 });
    const at = (k: { avcC: Uint8Array; keyframe: Uint8Array }) => batcher.decode({ ...k, width: 160, height: 90 });
    const jpegs = await Promise.all([at(wide), at(small), at(wide)]);
    expect(batcher.runs).toBe(1);
    for (const jpeg of jpegs) expect(jpegDimensions(jpeg)).toEqual({ width: 160, height: 90 });
    // A "keyframe" with no picture in it (only an SEI): the batch gives one picture too few.
    const broken = { avcC: wide.avcC, keyframe: lengthPrefixed([0x06, 0x05, 0x01, 0x00, 0x80]) };
    const results = await Promise.allSettled([at(small), at(broken), at(wide)]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(batcher.runs).toBe(5);
  });
});
