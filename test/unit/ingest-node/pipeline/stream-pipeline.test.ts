// StreamPipeline's failure paths with a fake publisher and edge: whatever fails, the publisher is disconnected and the
// edge told; an FFmpeg that dies is restarted once under a new epoch first.
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../../ingest-node/src/log.ts";
import type { FfmpegFeed } from "../../../../ingest-node/src/pipeline/ffmpeg-feed.ts";
import { StreamPipeline } from "../../../../ingest-node/src/pipeline/stream-pipeline.ts";
import type { PublishSession, SourceInfo } from "../../../../ingest-node/src/rtmp/publish-session.ts";
import { TEST_LADDER } from "../../../../protocol/ladder.ts";
import type { EdgeClient } from "../../../../ingest-node/src/upload/edge-client.ts";
import { MemorySink } from "../../../../ingest-node/src/upload/memory-sink.ts";
import { FakeEdge, FakeSession, grant } from "./pipeline-harness.ts";

const STREAM = "0b6f3c9e-5a1d-4d7e-9f20-3c4b5a6d7e8f";

function start(source: Partial<SourceInfo>, ffmpegBinary = "ffmpeg", restarts = 1) {
  const session = new FakeSession({ width: 640, height: 360, fps: 30, videoCodec: "h264", audioCodec: "aac", keyframeInterval: 2, ...source });
  const edge = new FakeEdge(STREAM, 3);
  const pipeline = new StreamPipeline(session as unknown as PublishSession, grant(STREAM, 1, 0), {
    ffmpegBinary,
    ffmpegFeatures: { statsPeriod: true, fpsMode: true },
    sink: new MemorySink(),
    edge: edge as unknown as EdgeClient,
    ladder: TEST_LADDER,
    preset: "ultrafast",
    thumbnailIntervalS: 10,
    limits: { maxBufferBytes: 1024 * 1024, maxSegmentTargets: 3, maxSegmentBytes: 1024 * 1024, restarts },
    log: createLogger("test"),
  });
  return { session, edge, pipeline };
}

/** An FLV video tag (header + payload + previous-tag-size). */
function videoTag(timestampMs: number, size: number): Buffer {
  const tag = Buffer.alloc(11 + size + 4);
  tag[0] = 9;
  tag.writeUIntBE(size, 1, 3);
  tag.writeUIntBE(timestampMs & 0xffffff, 4, 3);
  tag[11] = 0x27;
  tag[12] = 1;
  return tag;
}

describe("StreamPipeline failures", () => {
  it("ends the publish when no ladder can be planned (onMetaData width -1): publisher closed, edge told, nothing held", async () => {
    const { session, edge, pipeline } = start({ width: -1, height: 360 });
    await pipeline.done;
    expect(session.closedWith).toMatch(/^pipeline failed: source size -1x360/);
    expect(pipeline.health).toBe("failed");
    expect(edge.heartbeats.at(-1)).toMatchObject({ epoch: 1, pipeline: "failed", fps: 0 });
    expect(edge.unpublishes).toEqual([expect.objectContaining({ stream_id: STREAM, epoch: 1, reason: expect.stringMatching(/^pipeline failed/) })]);
    // A publisher that goes on sending after the end is not buffered for an FFmpeg that will never come.
    for (let i = 0; i < 2000; i++) session.listener?.(videoTag(i * 33, 1000), { kind: "video", timestampMs: i * 33, keyframe: false, payloadBytes: 1000 });
    expect((pipeline as unknown as { feed: FfmpegFeed }).feed.bufferedBytes).toBe(0);
  });

  it("restarts an FFmpeg that could not start once, under a new epoch, then ends the publish", async () => {
    const { session, edge, pipeline } = start({}, "/nonexistent/ffmpeg-for-this-test");
    await pipeline.done;
    // One republish with the publisher's own key: the edge's reconnect path (new epoch, a discontinuity).
    expect(edge.publishes).toEqual([expect.objectContaining({ stream_key: "sk_test_key" })]);
    expect(edge.unpublishes.map((u) => [u.epoch, u.reason?.split(":")[0]])).toEqual([
      [1, "pipeline restart"],
      [2, "pipeline failed"],
    ]);
    expect(pipeline.epoch).toBe(2);
    expect(session.closedWith).toMatch(/^pipeline failed: could not start/);
    expect(edge.heartbeats.at(-1)).toMatchObject({ epoch: 2, pipeline: "failed", fps: 0, speed: 0 });
  });

  it("ends the publish at once, without a restart, when PIPELINE_RESTARTS is 0", async () => {
    const { session, edge, pipeline } = start({}, "/nonexistent/ffmpeg-for-this-test", 0);
    await pipeline.done;
    expect(edge.publishes).toEqual([]);
    expect(edge.unpublishes).toHaveLength(1);
    expect(session.closedWith).toMatch(/^pipeline failed/);
  });

  it("does not restart an FFmpeg the node itself killed (a hard stop)", async () => {
    const { session, edge, pipeline } = start({});
    // FFmpeg runs (waiting for its input) once the plan is made.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await pipeline.kill();
    await new Promise((resolve) => setTimeout(resolve, 200));
    session.close("node shutting down");
    await pipeline.done;
    expect(edge.publishes).toEqual([]);
    expect(pipeline.health).toBe("ok");
    expect(edge.unpublishes).toEqual([expect.objectContaining({ epoch: 1, reason: "node shutting down" })]);
  });
});
