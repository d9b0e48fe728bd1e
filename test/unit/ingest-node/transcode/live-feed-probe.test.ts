// The node's FFmpeg on a live FLV feed with a declared frame rate: it starts writing after a few frames (no 40-frame
// rate probe), and its encoded rungs still tick at the source's rate (parts and segments on the copy's frame grid).
import { execFile } from "node:child_process";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { TEST_LADDER } from "../../../../protocol/ladder.ts";
import { CmafPackager, type PartEvent, type SegmentEvent } from "../../../../ingest-node/src/packager/packager.ts";
import { startMediaProcess } from "../../../../ingest-node/src/pipeline/media-process.ts";
import { liveFeedInputOptions } from "../../../../ingest-node/src/transcode/ffmpeg-args.ts";
import { planLadder, type SourceInfo } from "../../../../ingest-node/src/transcode/ladder-plan.ts";
import { readFlvFile } from "../pipeline/recorded-publisher.ts";
import { testFlvArgs, useRealFfmpeg } from "./real-ffmpeg.ts";

const run = promisify(execFile);
const ffmpeg = useRealFfmpeg("live-feed-probe-");
const FPS = 30;
const PART_TARGET = 0.5;
const SOURCE: SourceInfo = { width: 320, height: 180, fps: FPS, videoCodec: "h264", audioCodec: "aac", keyframeInterval: null };
/** Input the test feeds before it expects output: a third of the 40 frames FFmpeg's rate probe would wait for. */
const FIRST_MS = 400;

/** Every byte of a Readable, collected as it comes; `first` resolves at the first chunk. */
function collect(stream: Readable): { first: Promise<void>; all: Promise<Uint8Array[]> } {
  const chunks: Uint8Array[] = [];
  let seen: () => void = () => {};
  const first = new Promise<void>((resolve) => (seen = resolve));
  stream.on("data", (chunk: Buffer) => {
    chunks.push(new Uint8Array(chunk));
    seen();
  });
  const all = new Promise<Uint8Array[]>((resolve) => stream.on("end", () => resolve(chunks)));
  return { first, all };
}

function packaged(chunks: Uint8Array[]): { parts: PartEvent[]; segments: SegmentEvent[] } {
  const packager = new CmafPackager({ segmentTarget: 2, partTarget: PART_TARGET });
  const events = [...chunks.flatMap((chunk) => packager.push(chunk)), ...packager.end()];
  return { parts: events.filter((e): e is PartEvent => e.type === "part"), segments: events.filter((e): e is SegmentEvent => e.type === "segment") };
}

describe("the node's FFmpeg on a live FLV feed", () => {
  it("skips the frame-rate probe only when the publisher declared its rate", () => {
    expect(liveFeedInputOptions(30)).toEqual(["-fpsprobesize", "0"]);
    expect(liveFeedInputOptions(null)).toEqual([]);
  });

  it("writes every rendition after 0.4 s of input, and its encoded rungs keep the source's frame grid", async () => {
    const flv = join(ffmpeg.dir, "publisher.flv");
    const encoder = ["-preset", "ultrafast", "-pix_fmt", "yuv420p"];
    await run(
      ffmpeg.bin.ffmpeg,
      testFlvArgs({ size: "320x180", fps: FPS, seconds: 4.5, gop: 2 * FPS, sine: "sine=frequency=440:sample_rate=48000", encoder }, flv),
    );
    const [header, ...tags] = await readFlvFile(flv);
    const plan = planLadder(TEST_LADDER, SOURCE, 2, { copyBeforeInterval: true });
    const media = startMediaProcess({
      plan,
      source: SOURCE,
      mode: "interactive",
      timing: { segmentTarget: 2, partTarget: PART_TARGET },
      remux: "native",
      ffmpegBinary: ffmpeg.bin.ffmpeg,
      ffmpegFeatures: ffmpeg.bin.features,
      preset: "ultrafast",
      thumbnailIntervalS: 2,
    });
    media.on("thumbnail", () => {});
    const outputs = new Map([...media.renditions].map(([name, stream]) => [name, collect(stream)]));
    const stdin = media.stdin!;
    const timestamp = (tag: Buffer) => tag.readUIntBE(4, 3) | (tag[7]! << 24);
    const first = tags.filter((tag) => timestamp(tag) <= FIRST_MS);
    stdin.write(header);
    for (const tag of first) stdin.write(tag);
    // With the 40-frame probe nothing would come out before more input: the race ends with "probing".
    const started = await Promise.race([
      Promise.all([...outputs.values()].map((o) => o.first)).then(() => "writing"),
      new Promise((resolve) => setTimeout(resolve, 5_000, "probing")),
    ]);
    expect(started).toBe("writing");
    for (const tag of tags.slice(first.length)) stdin.write(tag);
    stdin.end();
    const exit = await media.exited;
    expect(exit.code, media.describeExit(exit)).toBe(0);

    const copy = packaged(await outputs.get("source")!.all);
    expect(copy.segments.length).toBe(3);
    for (const rung of plan.renditions.filter((r) => r.kind === "encode")) {
      const { parts, segments } = packaged(await outputs.get(rung.name)!.all);
      // A rate guessed from a few frames (29.42 for 30) gave 0.476 s parts and segments 6 ms off the copy's.
      for (const part of parts.filter((p) => p.index > 0 && parts.some((q) => q.segmentIndex === p.segmentIndex && q.index === p.index + 1))) {
        expect(part.duration, `${rung.name} part ${part.segmentIndex}.${part.index}`).toBeCloseTo(PART_TARGET, 6);
      }
      segments.slice(1, -1).forEach((segment, i) => {
        expect(segment.duration, `${rung.name} segment ${segment.index}`).toBeCloseTo(copy.segments[i + 1]!.duration, 6);
      });
    }
  }, 30_000);
});
