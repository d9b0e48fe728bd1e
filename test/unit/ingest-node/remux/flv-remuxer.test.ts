// Real FFmpeg: a publisher's FLV (H.264 with B-frames + AAC) remuxed to CMAF in-process. ffprobe must read the output
// as it reads the input (codecs, size, every frame and its timestamps, A/V in sync) and the packager must cut it.
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { CmafPackager, type PartEvent, type SegmentEvent } from "../../../../ingest-node/src/packager/packager.ts";
import { FlvRemuxer, RemuxError } from "../../../../ingest-node/src/remux/flv-remuxer.ts";
import { testFlvArgs, useRealFfmpeg } from "../transcode/real-ffmpeg.ts";

const run = promisify(execFile);
const FPS = 30;
const SECONDS = 6;
const ffmpeg = useRealFfmpeg("remux-");

/** SECONDS of 640x360 testsrc2 + sine as FLV: H.264 with B-frames (composition offsets), a keyframe every `gop` s. */
async function publisherFlv(name: string, gopSeconds = 2, extra: string[] = []): Promise<string> {
  const flv = join(ffmpeg.dir, `${name}.flv`);
  await run(
    ffmpeg.bin.ffmpeg,
    testFlvArgs(
      {
        size: "640x360",
        fps: FPS,
        seconds: SECONDS,
        gop: FPS * gopSeconds,
        sine: "sine=frequency=440:sample_rate=44100",
        encoder: ["-preset", "superfast", "-bf", "2"],
        extra,
      },
      flv,
    ),
  );
  return flv;
}

/** Remuxes `flv` fed in `chunk`-byte slices; returns the output bytes and the keyframe tags seen. */
function remux(bytes: Uint8Array, chunk: number, fragmentDuration = 0.5): { out: Uint8Array; parts: Uint8Array[]; keyframes: number } {
  let keyframes = 0;
  const remuxer = new FlvRemuxer({ fragmentDuration, onKeyframe: () => keyframes++ });
  const parts: Uint8Array[] = [];
  for (let i = 0; i < bytes.byteLength; i += chunk) parts.push(...remuxer.push(bytes.subarray(i, i + chunk)));
  parts.push(...remuxer.end());
  return { out: Buffer.concat(parts), parts, keyframes };
}

interface Packet {
  pts: number;
  dts: number;
  duration: number;
  key: boolean;
}

/** ffprobe's packets of one stream (`v:0` or `a:0`), times in seconds. */
async function packets(file: string, stream: string): Promise<Packet[]> {
  const { stdout } = await run(ffmpeg.ffprobe, [
    "-v",
    "error",
    "-select_streams",
    stream,
    "-show_entries",
    "packet=pts_time,dts_time,duration_time,flags",
    "-of",
    "json",
    file,
  ]);
  return (JSON.parse(stdout).packets as Record<string, string>[]).map((p) => ({
    pts: Number(p.pts_time),
    dts: Number(p.dts_time),
    duration: Number(p.duration_time),
    key: p.flags!.startsWith("K"),
  }));
}

async function streams(file: string): Promise<Record<string, string | number>[]> {
  const { stdout, stderr } = await run(ffmpeg.ffprobe, [
    "-v",
    "error",
    "-count_frames",
    "-show_entries",
    "stream=codec_type,codec_name,width,height,sample_rate,channels,nb_read_frames",
    "-of",
    "json",
    file,
  ]);
  expect(stderr).toBe("");
  return JSON.parse(stdout).streams;
}

describe("FlvRemuxer (real ffmpeg)", () => {
  it("copies every frame with its timestamps, codecs and size; the packager cuts 2 s segments at keyframes", async () => {
    const flv = await publisherFlv("av");
    const input = await readFile(flv);
    const { out, keyframes } = remux(input, 4093);
    // The slicing of the input does not change a byte of the output.
    expect(Buffer.compare(out, remux(input, input.byteLength).out)).toBe(0);
    const mp4 = join(ffmpeg.dir, "av.mp4");
    await writeFile(mp4, out);

    const [inStreams, outStreams] = [await streams(flv), await streams(mp4)];
    const pick = (s: Record<string, string | number>[], type: string) => s.find((x) => x.codec_type === type)!;
    expect(pick(outStreams, "video")).toMatchObject({ codec_name: "h264", width: 640, height: 360, nb_read_frames: pick(inStreams, "video").nb_read_frames });
    expect(pick(outStreams, "audio")).toMatchObject({
      codec_name: "aac",
      sample_rate: "44100",
      channels: 1,
      nb_read_frames: pick(inStreams, "audio").nb_read_frames,
    });
    expect(Number(pick(outStreams, "video").nb_read_frames)).toBe(FPS * SECONDS);
    expect(keyframes).toBe(SECONDS / 2);

    // Video: the same presentation times as the FLV (ms), decode times strictly increasing, keyframes where they were.
    const [vin, vout] = [await packets(flv, "v:0"), await packets(mp4, "v:0")];
    expect(vout).toHaveLength(vin.length);
    const t0 = vin[0]!.dts;
    vout.forEach((p, i) => {
      expect(p.pts).toBeCloseTo(vin[i]!.pts - t0, 3);
      expect(p.key).toBe(vin[i]!.key);
      if (i > 0) expect(p.dts).toBeGreaterThan(vout[i - 1]!.dts);
    });
    expect(
      vout.some((p, i) => i > 0 && p.pts < vout[i - 1]!.pts),
      "B-frames: presentation order differs from decode order",
    ).toBe(true);
    // Audio: every frame, 1024 samples apart, starting within a video frame of the video.
    const [ain, aout] = [await packets(flv, "a:0"), await packets(mp4, "a:0")];
    expect(aout).toHaveLength(ain.length);
    aout.forEach((p, i) => {
      if (i > 0) expect(p.dts - aout[i - 1]!.dts).toBeCloseTo(1024 / 44100, 5);
      expect(Math.abs(p.pts - (ain[i]!.pts - t0))).toBeLessThan(1 / FPS);
    });
    expect(Math.abs(aout[0]!.pts - vout[0]!.pts)).toBeLessThan(1 / FPS);

    const packager = new CmafPackager({ segmentTarget: 2, parts: true });
    const events = [...packager.push(out), ...packager.end()];
    const init = events.find((e) => e.type === "init")!;
    expect(init).toMatchObject({ width: 640, height: 360, frameRate: FPS });
    expect(init.type === "init" && init.codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
    const segments = events.filter((e): e is SegmentEvent => e.type === "segment");
    expect(segments.map((s) => s.duration)).toEqual([2, 2, 2]);
    const parts = events.filter((e): e is PartEvent => e.type === "part");
    expect(parts.every((p) => p.duration <= 0.5 + 1e-9)).toBe(true);
    expect(parts.filter((p) => p.index === 0).every((p) => p.independent)).toBe(true);
    expect(parts.filter((p) => p.independent)).toHaveLength(3);
    // Each segment with the init decodes on its own, starting with a keyframe.
    for (const segment of segments) {
      const file = join(ffmpeg.dir, `seg${segment.index}.mp4`);
      await writeFile(file, Buffer.concat([init.bytes, segment.bytes]));
      const seg = await packets(file, "v:0");
      expect(seg).toHaveLength(60);
      expect(seg[0]!.key).toBe(true);
    }
  });

  it("writes a GOP's fragments back to back: fed fragment by fragment, the packager's segments and parts are views of them, not copies", async () => {
    const input = await readFile(await publisherFlv("arena"));
    const { parts: fragments } = remux(input, 65_536);
    for (const parts of [false, true]) {
      const packager = new CmafPackager({ segmentTarget: 2, parts, partTarget: parts ? 0.5 : undefined });
      const events = [...fragments.flatMap((f) => packager.push(f)), ...packager.end()];
      const segments = events.filter((e): e is SegmentEvent => e.type === "segment");
      expect(segments).toHaveLength(3);
      for (const segment of segments) {
        // The buffer of the segment's first fragment holds the whole segment, and its bytes are those fragments'.
        const own = fragments.filter((f) => f.buffer === segment.bytes.buffer);
        expect(own.length).toBeGreaterThan(1);
        expect(Buffer.compare(Buffer.from(segment.bytes), Buffer.concat(own))).toBe(0);
        if (parts)
          for (const part of events.filter((e): e is PartEvent => e.type === "part" && e.segmentIndex === segment.index)) {
            expect(part.bytes.buffer).toBe(segment.bytes.buffer);
          }
      }
    }
  });

  it("hands each frame's input bytes back once they are in a fragment, and never reads them again", async () => {
    const bytes = await readFile(await publisherFlv("handback"));
    const expected = remux(bytes, 65_536).out;
    // Fed as node-media-server feeds it: the file header, then one tag per buffer of its own (not Node's shared pool).
    const own = (from: number, to: number) => new Uint8Array(bytes.subarray(from, to));
    const tags: Uint8Array[] = [own(0, 13)];
    for (let at = 13; at + 11 <= bytes.byteLength; ) {
      const total = 11 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) + 4;
      tags.push(own(at, at + total));
      at += total;
    }
    // Every audio and video frame (the configurations and metadata are not frames).
    const frames = tags.filter((tag) => (tag[0] === 8 || tag[0] === 9) && tag[12] === 1).length;
    let handedBack = 0;
    const remuxer = new FlvRemuxer({
      fragmentDuration: 0.5,
      // Whatever is handed back is overwritten at once, as a reused buffer would be: the output must not change.
      onWritten: (view) => {
        expect(tags.some((tag) => tag.buffer === view.buffer)).toBe(true);
        new Uint8Array(view.buffer).fill(0xee);
        handedBack++;
      },
    });
    const parts: Uint8Array[] = [];
    for (const tag of tags) parts.push(...remuxer.push(tag));
    parts.push(...remuxer.end());
    expect(Buffer.compare(Buffer.concat(parts), expected)).toBe(0);
    expect(frames).toBeGreaterThan(SECONDS * FPS);
    expect(handedBack).toBe(frames);
  });

  it("cuts fragments at the part target (LL-HLS 0.333 s parts): 10 frames each", async () => {
    const input = await readFile(await publisherFlv("parts"));
    const { out } = remux(input, 65_536, 1 / 3);
    const packager = new CmafPackager({ segmentTarget: 2, parts: true });
    const fragments = [...packager.push(out), ...packager.end()].filter((e): e is PartEvent => e.type === "part");
    // Each keyframe (one every 2 s) is a fragment of its own and the rest of its window the next: 18 windows.
    const windows: number[] = [];
    for (const [i, fragment] of fragments.entries()) {
      if (i > 0 && fragments[i - 1]!.independent && fragments[i - 1]!.duration < 0.05) windows[windows.length - 1]! += fragment.duration;
      else windows.push(fragment.duration);
    }
    const keyframes = fragments.filter((f) => f.independent);
    expect(keyframes).toHaveLength(3);
    for (const keyframe of keyframes) expect(Math.abs(keyframe.duration - 1 / FPS)).toBeLessThan(0.002);
    expect(windows).toHaveLength(18);
    // FLV times are whole milliseconds: 30 fps frames last 33 or 34 ms.
    for (const window of windows) expect(Math.abs(window - 1 / 3)).toBeLessThan(0.002);
  });

  it("writes a video-only init for a source without audio", async () => {
    const flv = join(ffmpeg.dir, "silent.flv");
    await run(ffmpeg.bin.ffmpeg, [
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      `testsrc2=size=320x240:rate=25`,
      "-t",
      "2",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-g",
      "25",
      "-f",
      "flv",
      flv,
    ]);
    const { out } = remux(await readFile(flv), 10_000);
    const packager = new CmafPackager({ segmentTarget: 1, parts: false });
    const events = [...packager.push(out), ...packager.end()];
    const init = events.find((e) => e.type === "init")!;
    expect(init.type === "init" && init.codecs).toMatch(/^avc1\.[0-9a-f]{6}$/);
    expect(init).toMatchObject({ width: 320, height: 240 });
    expect(events.filter((e) => e.type === "segment").map((e) => (e as SegmentEvent).duration)).toEqual([1, 1]);
  });

  it("refuses what it cannot copy: a non-H.264 video codec", async () => {
    const flv = join(ffmpeg.dir, "flv1.flv");
    await run(ffmpeg.bin.ffmpeg, ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "1", "-c:v", "flv1", "-f", "flv", flv]);
    const input = await readFile(flv);
    const error = (() => {
      try {
        remux(input, 65_536);
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(RemuxError);
    expect((error as RemuxError).code).toBe("UNSUPPORTED_CODEC");
  });
});
