// A passthrough StreamPipeline (LADDER=passthrough, REMUX=native) with a fake publisher and edge, its FFmpeg path set
// to a file that does not exist: the `source` rendition is produced all the same, since no FFmpeg copies it. A new
// H.264 sequence header mid-stream (another picture size) restarts the pipeline under a new epoch with a new init.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../../ingest-node/src/log.ts";
import { StreamPipeline } from "../../../../ingest-node/src/pipeline/stream-pipeline.ts";
import { readFlvTag } from "../../../../ingest-node/src/rtmp/flv-tag.ts";
import type { PublishSession } from "../../../../ingest-node/src/rtmp/publish-session.ts";
import type { EdgeClient } from "../../../../ingest-node/src/upload/edge-client.ts";
import { MemorySink } from "../../../../ingest-node/src/upload/memory-sink.ts";
import { FakeEdge, FakeSession, grant } from "./pipeline-harness.ts";
import { useRealFfmpeg } from "../transcode/real-ffmpeg.ts";

const run = promisify(execFile);
const STREAM = "5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const ffmpeg = useRealFfmpeg("native-passthrough-");

/** The FLV file as node-media-server hands it over: the 13-byte header, then one buffer per tag (with its trailer). */
async function flvBuffers(size: string, offsetMs: number, seconds = 4, gop = 30): Promise<Buffer[]> {
  const file = join(ffmpeg.dir, `${size}-${seconds}-${gop}.flv`);
  await run(ffmpeg.bin.ffmpeg, [
    "-v",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    `testsrc2=size=${size}:rate=30`,
    "-f",
    "lavfi",
    "-i",
    "sine=sample_rate=48000",
    "-t",
    String(seconds),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-g",
    String(gop),
    "-keyint_min",
    String(gop),
    "-c:a",
    "aac",
    "-f",
    "flv",
    file,
  ]);
  const bytes = await readFile(file);
  const out = [bytes.subarray(0, 13)];
  for (let at = 13; at < bytes.byteLength; ) {
    const total = 11 + bytes.readUIntBE(at + 1, 3) + 4;
    const tag = Buffer.from(bytes.subarray(at, at + total));
    const ts = tag.readUIntBE(4, 3) + offsetMs;
    tag.writeUIntBE(ts & 0xffffff, 4, 3);
    out.push(tag);
    at += total;
  }
  return out;
}

const until = async (what: string, check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

function start(ffmpegBinary: string) {
  const session = new FakeSession({ width: 640, height: 360, fps: 30, videoCodec: "h264", audioCodec: "aac", keyframeInterval: 1 });
  const edge = new FakeEdge(STREAM, 10);
  const sink = new MemorySink();
  const pipeline = new StreamPipeline(session as unknown as PublishSession, grant(STREAM, 1, 0), {
    ffmpegBinary,
    ffmpegFeatures: { statsPeriod: true, fpsMode: true },
    sink,
    edge: edge as unknown as EdgeClient,
    ladder: "passthrough",
    remux: "native",
    preset: "ultrafast",
    thumbnailIntervalS: 10,
    limits: { maxBufferBytes: 16 * 1024 * 1024, maxSegmentTargets: 3, maxSegmentBytes: 16 * 1024 * 1024, restarts: 1 },
    log: createLogger("test"),
  });
  const feed = (tags: Buffer[]) => {
    for (const tag of tags) session.listener!(tag, readFlvTag(tag));
  };
  return { session, edge, sink, pipeline, feed };
}

describe("passthrough pipeline, native remux", () => {
  it("falls back to encoding the source (with FFmpeg) when the publisher stops sending keyframes", async () => {
    // One keyframe, then 8 s without: past PIPELINE_MAX_SEGMENT_TARGETS (3 x 2 s) the copy cannot be cut.
    const tags = await flvBuffers("640x360", 0, 8, 1000);
    const { session, edge, pipeline, feed } = start("/nonexistent/ffmpeg-for-this-test");
    await until("the feed", () => session.listener !== null);
    // Fed in steps, as a live publisher's tags come: the packager sees the fragments as they are cut.
    for (let i = 0; i < tags.length; i += 20) {
      feed(tags.slice(i, i + 20));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await pipeline.done;
    // The restart asks for an encoded source; this test's FFmpeg does not exist, so that run fails to start.
    expect(edge.unpublishes.map((u) => [u.epoch, u.reason?.split(":")[0]])).toEqual([
      [1, "pipeline restart"],
      [2, "pipeline failed"],
    ]);
    expect(edge.unpublishes[0]!.reason).toMatch(/the publisher stopped sending keyframes \(source\)/);
    expect(edge.unpublishes[1]!.reason).toMatch(/could not start/);
  });

  it("makes the source rendition with no FFmpeg at all, and restarts with a new init when the SPS changes", async () => {
    const [first, second] = [await flvBuffers("640x360", 0), await flvBuffers("320x240", 4000)];
    const { session, edge, sink, pipeline, feed } = start("/nonexistent/ffmpeg-for-this-test");
    await until("the feed", () => session.listener !== null);
    feed(first);
    await until("the first broadcast's segments", () => sink.objectsOf(STREAM, "source").filter((o) => o.kind === "segment").length >= 1);
    // The second encoder's header, metadata and codec configuration, then its first keyframe and what follows.
    feed(second.slice(1, 6));
    await until("the restart", () => edge.publishes.length === 1);
    feed(second.slice(6));
    await new Promise((resolve) => setTimeout(resolve, 200));
    session.close("publisher left");
    await pipeline.done;

    expect(edge.unpublishes.map((u) => [u.epoch, u.reason?.split(":")[0]])).toEqual([
      [1, "pipeline restart"],
      [2, "publisher left"],
    ]);
    expect(edge.unpublishes[0]!.reason).toMatch(/new H\.264 sequence header/);
    const objects = sink.objectsOf(STREAM, "source");
    const inits = objects.filter((o) => o.kind === "init");
    expect(inits.map((o) => o.kind === "init" && [o.meta.epoch, o.meta.width, o.meta.height])).toEqual([
      [1, 640, 360],
      [2, 320, 240],
    ]);
    const segments = objects.flatMap((o) => (o.kind === "segment" ? [[o.meta.epoch, o.meta.msn, Math.round(o.meta.duration)]] : []));
    // The restarted run starts at the keyframe after the one that carried the change: 3 s of the second 4 s.
    expect(segments).toEqual([
      [1, 0, 2],
      [1, 1, 2],
      [2, 10, 2],
      [2, 11, 1],
    ]);
    expect(pipeline.health).toBe("restarted");
  });
});
