// The whole pipeline of one publish against the MediaSink boundary: a recorded publisher's FLV (test/fixtures/flv,
// 4 s at 256x144, a keyframe every second) through the real FFmpeg and the CMAF packager into a MemorySink.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../../ingest-node/src/log.ts";
import { StreamPipeline } from "../../../../ingest-node/src/pipeline/stream-pipeline.ts";
import type { FragmentSink } from "../../../../ingest-node/src/queue/fragment-stream.ts";
import { PoolTranscoding, type PoolTranscodingOptions } from "../../../../ingest-node/src/queue/pool-transcoding.ts";
import { type FragmentEntry, FragmentSequence, fragmentsKey } from "../../../../ingest-node/src/queue/segment-fragments.ts";
import type { TranscodeJob } from "../../../../ingest-node/src/queue/transcode-job.ts";
import type { EdgeClient } from "../../../../ingest-node/src/upload/edge-client.ts";
import type { MediaObject } from "../../../../ingest-node/src/upload/media-sink.ts";
import { MemorySink } from "../../../../ingest-node/src/upload/memory-sink.ts";
import { useRealFfmpeg } from "../transcode/real-ffmpeg.ts";
import { FakeEdge, grant } from "./pipeline-harness.ts";
import { RecordedPublisher, readFlvFile } from "./recorded-publisher.ts";

const STREAM = "7a3e9c1b-2d4f-4e6a-8b0c-1d2e3f4a5b6c";
const FIXTURE = join(import.meta.dirname, "../../../fixtures/flv/publisher-4s.flv");
const FIRST_MSN = 7;
const ffmpeg = useRealFfmpeg("recorded-publish-");

/**
 * Publishes the fixture (at 4x real time) in interactive mode with a one-rung ladder; `during` runs while it goes on.
 * Resolves once the pipeline is done.
 */
async function publishFixture(during?: (sink: MemorySink) => Promise<void>) {
  const publisher = new RecordedPublisher(await readFlvFile(FIXTURE), 4);
  const edge = new FakeEdge(STREAM, 100);
  const sink = new MemorySink();
  const pipeline = new StreamPipeline(
    publisher,
    { ...grant(STREAM, 1, FIRST_MSN), latency_mode: "interactive", part_target: 0.5 },
    {
      ffmpegBinary: ffmpeg.bin.ffmpeg,
      ffmpegFeatures: ffmpeg.bin.features,
      sink,
      edge: edge as unknown as EdgeClient,
      ladder: [{ name: "90p", height: 90, videoKbps: 100, audioKbps: 32 }],
      preset: "ultrafast",
      thumbnailIntervalS: 10,
      limits: { maxBufferBytes: 4 * 1024 * 1024, maxSegmentTargets: 3, maxSegmentBytes: 4 * 1024 * 1024, restarts: 0 },
      log: createLogger("test"),
    },
  );
  await during?.(sink);
  await pipeline.done;
  return { publisher, edge, sink, pipeline };
}

/** `kind msn.part` of a rendition's objects, in upload order (`init` for its init segment). */
function sequence(objects: MediaObject[]): string[] {
  return objects.map((o) => (o.kind === "part" ? `part ${o.meta.msn}.${o.meta.part}` : o.kind === "segment" ? `segment ${o.meta.msn}` : o.kind));
}

describe("a recorded publish through the pipeline into a MemorySink", () => {
  it("uploads each rendition's init, then its parts and segments in order, with msns and durations from the media", async () => {
    const { publisher, edge, sink, pipeline } = await publishFixture();
    expect(publisher.closedWith).toBe("publisher left");
    expect(pipeline.health).toBe("ok");
    expect(edge.publishes).toEqual([]);
    expect(edge.unpublishes).toEqual([{ stream_id: STREAM, epoch: 1, reason: "publisher left" }]);
    expect(pipeline.renditions()).toEqual(["source", "90p"]);
    expect(sink.objects.every((o) => o.streamId === STREAM && o.meta.epoch === 1)).toBe(true);

    // Keyframes at 0, 1, 2 and 3 s: two 2 s segments from the grant's first msn, each of five parts of at most 0.5 s
    // (seven 15 fps frames, the last part what is left), each part uploaded before the segment it belongs to.
    const expected = ["init", ...[FIRST_MSN, FIRST_MSN + 1].flatMap((msn) => [0, 1, 2, 3, 4].map((part) => `part ${msn}.${part}`).concat(`segment ${msn}`))];
    for (const [rendition, width, height] of [
      ["source", 256, 144],
      ["90p", 160, 90],
    ] as const) {
      const objects = sink.objectsOf(STREAM, rendition);
      expect(sequence(objects), rendition).toEqual(expected);
      expect(objects[0]!.meta).toMatchObject({ epoch: 1, codecs: expect.stringMatching(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/), width, height, frame_rate: 15 });

      const segments = objects.filter((o) => o.kind === "segment");
      for (const segment of segments) {
        const parts = objects.flatMap((o) => (o.kind === "part" && o.meta.msn === segment.meta.msn ? [o] : []));
        expect(segment.meta.parts).toBe(parts.length);
        expect(parts.map((p) => p.meta.independent)).toEqual([true, false, false, false, false]);
        for (const part of parts) expect(part.meta.duration).toBeLessThanOrEqual(0.5);
        // A segment is its parts, byte for byte, and lasts as long as they do together.
        const partDurations = parts.reduce((sum, p) => sum + p.meta.duration, 0);
        expect(segment.meta.duration).toBeCloseTo(partDurations, 3);
        expect(Buffer.from(segment.bytes).equals(Buffer.concat(parts.map((p) => p.bytes)))).toBe(true);
        expect(segment.meta.duration).toBeCloseTo(2, 1);
      }
      // All of the recording, and nothing more: the fixture lasts 4.02 s.
      const total = segments.reduce((sum, s) => sum + s.meta.duration, 0);
      expect(total).toBeGreaterThan(3.95);
      expect(total).toBeLessThan(4.1);
    }

    // Each segment is dated (EXT-X-PROGRAM-DATE-TIME) later than the one before. How much later is not asserted: the
    // replay runs faster than real time, and the capture clock learns from arrival times.
    for (const rendition of ["source", "90p"]) {
      const dates = sink.objectsOf(STREAM, rendition).flatMap((o) => (o.kind === "segment" ? [Date.parse(o.meta.program_date_time)] : []));
      expect(dates[1]! > dates[0]!, rendition).toBe(true);
    }
    expect(sink.objects.filter((o) => o.kind === "thumbnail")).toHaveLength(1);
  });

  it("stops at a fence: the sink refuses the epoch (another publish took over), the publisher is disconnected, nothing more is put", async () => {
    let putBeforeFence = 0;
    const { publisher, edge, sink } = await publishFixture(async (sink) => {
      for (let i = 0; i < 200 && !sink.objects.some((o) => o.kind === "segment"); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      putBeforeFence = sink.objects.length;
      sink.fence(STREAM, 1);
    });
    expect(putBeforeFence).toBeGreaterThan(0);
    expect(publisher.closedWith).toBe("fenced by the edge");
    expect(sink.objects).toHaveLength(putBeforeFence);
    // The broadcast is not this node's to hand back any more.
    expect(edge.unpublishes).toEqual([]);
  });

  it("in queue mode copies the source only, declares the pool's rungs in its init, and queues one job per source segment", async () => {
    const { jobs, sink, pipeline } = await publishToPool(null);
    expect(pipeline.renditions()).toEqual(["source"]);
    const [init] = sink.objectsOf(STREAM, "source");
    // The edge holds the multivariant playlist until every declared rendition has an init: the pool's rungs too.
    expect(init!.kind).toBe("init");
    expect(init!.meta).toMatchObject({ ladder: ["source", "90p", "72p"] });
    const segments = sink.objectsOf(STREAM, "source").filter((o) => o.kind === "segment");
    expect(segments.map((o) => o.meta.msn)).toEqual([FIRST_MSN, FIRST_MSN + 1]);
    expect(jobs.map((j) => [j.msn, j.rungs.map((r) => r.name), j.fragments, j.cutAt !== null])).toEqual([
      [FIRST_MSN, ["90p", "72p"], false, true],
      [FIRST_MSN + 1, ["90p", "72p"], false, true],
    ]);
  });

  it("with fragments, queues each segment's jobs when it opens and appends its init, fragments and end: together the segment", async () => {
    const streams = new Map<string, FragmentEntry[]>();
    const fragmentSink: FragmentSink = {
      append: async (key, entry) => void streams.set(key, [...(streams.get(key) ?? []), entry]),
    };
    const { jobs, sink, pool } = await publishToPool({ sink: fragmentSink, maxBytes: 16 * 1024 * 1024 });
    const [init] = sink.objectsOf(STREAM, "source");
    const segments = sink.objectsOf(STREAM, "source").filter((o) => o.kind === "segment");
    expect(segments.map((o) => o.meta.msn)).toEqual([FIRST_MSN, FIRST_MSN + 1]);
    // Queued at the segment's first fragment: no cut, no duration yet; its date is the segment's.
    expect(jobs.map((j) => [j.msn, j.fragments, j.cutAt, j.duration])).toEqual([
      [FIRST_MSN, true, null, null],
      [FIRST_MSN + 1, true, null, null],
    ]);
    expect(jobs.map((j) => j.programDateTime)).toEqual(segments.map((s) => (s.meta as { program_date_time: string }).program_date_time));
    for (const segment of segments) {
      const msn = (segment.meta as { msn: number }).msn;
      const entries = streams.get(fragmentsKey({ streamId: STREAM, epoch: 1, msn }))!;
      const reader = new FragmentSequence(16 * 1024 * 1024);
      const steps = entries.map((e) => reader.accept(e));
      expect(steps[0]).toEqual({ kind: "init", bytes: init!.bytes });
      const fragments = steps.filter((s) => s.kind === "fragment");
      expect(fragments.length).toBeGreaterThan(1);
      expect(steps.at(-1)).toMatchObject({ kind: "end", duration: (segment.meta as { duration: number }).duration });
      // The fragments, joined, are the segment the node uploaded, byte for byte.
      expect(Buffer.concat(fragments.map((f) => (f.kind === "fragment" ? f.bytes : new Uint8Array()))).equals(Buffer.from(segment.bytes))).toBe(true);
    }
    expect(pool.fragmentStreams).toEqual({ ended: 2, byte_cap: 0, append_failed: 0, not_cut: 0 });
  });

  it("stops appending a segment's fragments at QUEUE_FRAGMENTS_MAX_MB's cap and says so in its stream", async () => {
    const streams = new Map<string, FragmentEntry[]>();
    const fragmentSink: FragmentSink = { append: async (key, entry) => void streams.set(key, [...(streams.get(key) ?? []), entry]) };
    // 6 KB: the fixture's first fragment fits, its segment does not.
    const { pool } = await publishToPool({ sink: fragmentSink, maxBytes: 6_000 });
    expect(streams.size).toBe(2);
    for (const entries of streams.values()) {
      expect(entries.at(-1)).toEqual({ kind: "abort", reason: "byte_cap" });
      const appended = entries.flatMap((e) => (e.kind === "fragment" ? [e.bytes.byteLength] : []));
      expect(appended.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(6_000);
      expect(entries.some((e) => e.kind === "end")).toBe(false);
    }
    expect(pool.fragmentStreams).toEqual({ ended: 0, byte_cap: 2, append_failed: 0, not_cut: 0 });
  });

  it("closes a segment's stream with an abort when an append fails (Redis away), and appends nothing more to it", async () => {
    const streams = new Map<string, FragmentEntry[]>();
    let appends = 0;
    const fragmentSink: FragmentSink = {
      append: async (key, entry) => {
        // The third append of the publish (the first segment's second fragment) is lost.
        if (++appends === 3) throw new Error("redis is reconnecting");
        streams.set(key, [...(streams.get(key) ?? []), entry]);
      },
    };
    const { pool, jobs } = await publishToPool({ sink: fragmentSink, maxBytes: 16 * 1024 * 1024 });
    const [first, second] = [...streams.values()];
    const reader = new FragmentSequence(16 * 1024 * 1024);
    expect(first!.map((e) => reader.accept(e)).find((s) => s.kind === "fallback")).toBeDefined();
    expect(first!.some((e) => e.kind === "end")).toBe(false);
    expect(second!.at(-1)?.kind).toBe("end");
    expect(pool.fragmentStreams).toMatchObject({ ended: 1, append_failed: 1 });
    // The lost segment's job is marked to read the edge without looking for its fragments (this sink keeps the job
    // objects it was given, so the mark shows; a job BullMQ already stored keeps its flag and finds the abort entry).
    expect(jobs.map((j) => j.fragments)).toEqual([false, true]);
  });
});

/** Publishes the fixture (4x real time, mode low) to a queue-mode node whose pool makes 90p and 72p. */
async function publishToPool(fragments: PoolTranscodingOptions["fragments"]) {
  const jobs: TranscodeJob[] = [];
  const log = createLogger("test");
  const pool = new PoolTranscoding({
    sink: { add: async (_cls, job) => void jobs.push(job), gpuWorkerSeen: async () => false },
    ladder: [
      { name: "90p", height: 90, videoKbps: 100, audioKbps: 32 },
      { name: "72p", height: 72, videoKbps: 80, audioKbps: 32 },
    ],
    gpuMinHeight: 720,
    bufferJobs: 10,
    fragments,
    log,
  });
  const publisher = new RecordedPublisher(await readFlvFile(FIXTURE), 4);
  const sink = new MemorySink();
  const pipeline = new StreamPipeline(
    publisher,
    { ...grant(STREAM, 1, FIRST_MSN), worker_grant: "g" },
    {
      ffmpegBinary: ffmpeg.bin.ffmpeg,
      ffmpegFeatures: ffmpeg.bin.features,
      sink,
      edge: new FakeEdge(STREAM, 100) as unknown as EdgeClient,
      ladder: [],
      pool,
      preset: "ultrafast",
      thumbnailIntervalS: 10,
      limits: { maxBufferBytes: 4 * 1024 * 1024, maxSegmentTargets: 3, maxSegmentBytes: 4 * 1024 * 1024, restarts: 0 },
      log,
    },
  );
  await pipeline.done;
  await pool.buffer.idle();
  pool.close();
  return { jobs, sink, pool: pool, pipeline };
}
