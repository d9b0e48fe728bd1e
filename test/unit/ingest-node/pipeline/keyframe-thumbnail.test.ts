// Keyframe thumbnails from the long-lived FFmpeg of each picture size, against the real FFmpeg: keyframes of a B-frame
// source and of another resolution each give their own picture before the next is written; a keyframe holding two
// pictures gives the first and shifts nothing; a broken keyframe costs only itself; sizes beyond the bound close the
// least recently used idle FFmpeg.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { KeyframeThumbnails, type KeyframeThumbnailsOptions } from "../../../../ingest-node/src/pipeline/keyframe-thumbnail.ts";
import { RemuxError } from "../../../../ingest-node/src/remux/errors.ts";
import { FlvReader } from "../../../../ingest-node/src/remux/flv-reader.ts";
import { jpegDimensions } from "../../../../ingest-node/src/transcode/jpeg-splitter.ts";
import { testFlvArgs, useRealFfmpeg } from "../transcode/real-ffmpeg.ts";

const run = promisify(execFile);
const ffmpeg = useRealFfmpeg("keyframe-thumbnail-");

interface Keyframe {
  avcC: Uint8Array;
  keyframe: Uint8Array;
}

const made = new Map<string, Promise<Keyframe[]>>();

/** The avcC and keyframes of 2 s of an FFmpeg-made FLV of `size`, a keyframe every 10 frames (made once). */
function keyframes(size: string, bFrames: number, fps = 30): Promise<Keyframe[]> {
  const key = `${size}-${bFrames}-${fps}`;
  if (!made.has(key)) made.set(key, makeKeyframes(size, bFrames, fps));
  return made.get(key)!;
}

async function makeKeyframes(size: string, bFrames: number, fps: number): Promise<Keyframe[]> {
  const out = join(ffmpeg.dir, `${size}-${bFrames}-${fps}.flv`);
  const encoder = ["-preset", "veryfast", "-profile:v", "high", "-bf", String(bFrames)];
  // A keyframe every 10 frames, over enough seconds for at least 4 of them.
  await run(ffmpeg.bin.ffmpeg, testFlvArgs({ size, fps, seconds: Math.max(2, Math.ceil(40 / fps)), gop: 10, sine: "sine", encoder }, out));
  let avcC: Uint8Array | null = null;
  const found: Keyframe[] = [];
  for (const tag of new FlvReader().push(await readFile(out))) {
    if (tag.type !== 9) continue;
    if (tag.payload[1] === 0) avcC = tag.payload.slice(5);
    else if (tag.payload[0]! >> 4 === 1 && tag.payload[1] === 1 && avcC) found.push({ avcC, keyframe: tag.payload.slice(5) });
  }
  return found;
}

const open: KeyframeThumbnails[] = [];
function thumbnails(options: Partial<KeyframeThumbnailsOptions> = {}): KeyframeThumbnails {
  const t = new KeyframeThumbnails({ binary: ffmpeg.bin.ffmpeg, timeoutMs: 2_000, ...options });
  open.push(t);
  return t;
}

afterEach(() => {
  for (const t of open.splice(0)) t.close();
});

describe("KeyframeThumbnails", () => {
  it("decodes keyframes of a B-frame source and of another resolution in one FFmpeg per size, each picture at once", async () => {
    const [bSource, small] = await Promise.all([keyframes("640x360", 3), keyframes("320x240", 0)]);
    expect(bSource.length).toBeGreaterThanOrEqual(4);
    const t = thumbnails();
    const slowest = { ms: 0 };
    for (let k = 0; k < 4; k++) {
      for (const source of [bSource, small]) {
        // Awaited one by one: a picture held until the next keyframe (B-frame reordering, a parser waiting for the
        // next access unit) would time out here instead.
        const started = performance.now();
        const jpeg = await t.decode({ ...source[k]!, width: 160, height: 90 });
        slowest.ms = Math.max(slowest.ms, performance.now() - started);
        expect(jpegDimensions(jpeg)).toEqual({ width: 160, height: 90 });
      }
    }
    expect(slowest.ms).toBeLessThan(1_000);
    expect(jpegDimensions(await t.decode({ ...bSource[0]!, width: 320, height: 180 }))).toEqual({ width: 320, height: 180 });
    expect(t.sizes).toEqual(["160x90", "320x180"]);
    expect(t.starts).toBe(2);
  });

  it("publishes of different frame rates share one FFmpeg: each keyframe gets its picture and FFmpeg is never restarted", async () => {
    // The slow one first: stamps derived from its SPS (1/2 s apart) once made the encoder's time base so coarse that the
    // next keyframes' stamps repeated, and FFmpeg exited ("Invalid pts").
    const [slow, fast] = await Promise.all([keyframes("320x240", 0, 2), keyframes("320x240", 0, 30)]);
    const t = thumbnails();
    for (let k = 0; k < 4; k++) {
      for (const source of [slow, fast, fast]) {
        expect(jpegDimensions(await t.decode({ ...source[k]!, width: 160, height: 90 }))).toEqual({ width: 160, height: 90 });
      }
    }
    expect(t.starts).toBe(1);
  });

  it("a keyframe holding two pictures gives the first one's JPEG, and the next keyframe still gets its own", async () => {
    const source = await keyframes("640x360", 3);
    const t = thumbnails();
    const at = (k: Keyframe) => t.decode({ ...k, width: 160, height: 90 });
    const [one, two, three] = [await at(source[1]!), await at(source[2]!), await at(source[3]!)];
    expect(Buffer.compare(one, two)).not.toBe(0);
    expect(Buffer.compare(two, three)).not.toBe(0);
    // Were the second picture decoded, its JPEG would come as (or after) the next keyframe's answer.
    const both = { avcC: source[1]!.avcC, keyframe: Buffer.concat([source[1]!.keyframe, source[3]!.keyframe]) };
    expect(await at(both)).toEqual(one);
    expect(await at(source[2]!)).toEqual(two);
    expect(await at(source[3]!)).toEqual(three);
    expect(t.starts).toBe(1);
  });

  it("a broken keyframe is rejected alone: refused before FFmpeg when it holds no slice, else FFmpeg is restarted", async () => {
    const [good] = await keyframes("320x240", 0);
    const t = thumbnails({ timeoutMs: 1_000 });
    const at = (keyframe: Uint8Array) => t.decode({ avcC: good!.avcC, keyframe, width: 160, height: 90 });
    await expect(at(Uint8Array.from([0, 0, 0, 4, 0x06, 5, 1, 0]))).rejects.toBeInstanceOf(RemuxError);
    expect(t.starts).toBe(0);
    expect(jpegDimensions(await at(good!.keyframe))).toEqual({ width: 160, height: 90 });
    // An IDR slice naming a PPS that does not exist: FFmpeg decodes nothing.
    await expect(at(Uint8Array.from([0, 0, 0, 6, 0x65, 0x88, 0x34, 0x80, 0x00, 0x11]))).rejects.toThrow(/no picture within 1000 ms/);
    expect(jpegDimensions(await at(good!.keyframe))).toEqual({ width: 160, height: 90 });
    expect(t.starts).toBe(2);
  });

  it("keeps at most maxSizes FFmpegs: a new size closes the least recently used idle one, and is refused while all are busy", async () => {
    const [good] = await keyframes("320x240", 0);
    const t = thumbnails({ maxSizes: 2 });
    const at = (width: number, height: number) => t.decode({ ...good!, width, height });
    await at(160, 90);
    await at(320, 180);
    await at(160, 90);
    await at(480, 270);
    expect(t.sizes).toEqual(["160x90", "480x270"]);
    const busy = [at(160, 90), at(480, 270)];
    await expect(at(320, 180)).rejects.toThrow(/2 other thumbnail sizes are being decoded/);
    await Promise.all(busy);
    expect(jpegDimensions(await at(320, 180))).toEqual({ width: 320, height: 180 });
    expect(t.starts).toBe(4);
  });

  it("holds at most maxQueued keyframes waiting per size: one more is refused at once, the ones held all get their picture", async () => {
    const [good] = await keyframes("320x240", 0);
    const t = thumbnails({ maxQueued: 3 });
    // One in flight and three waiting.
    const held = [1, 2, 3, 4].map(() => t.decode({ ...good!, width: 160, height: 90 }));
    await expect(t.decode({ ...good!, width: 160, height: 90 })).rejects.toThrow(/3 pictures already wait/);
    for (const picture of await Promise.all(held)) expect(jpegDimensions(picture)).toEqual({ width: 160, height: 90 });
  });
});
