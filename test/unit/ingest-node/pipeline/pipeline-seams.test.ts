// The pure pieces split out of the stream pipeline: the ladder a run plans, the BANDWIDTH an init declares, and what
// a stream heartbeat reports and does with the edge's answer.
import { describe, expect, it } from "vitest";
import type { StreamHeartbeat as HeartbeatBody } from "../../../../protocol/ingest.ts";
import { TEST_LADDER } from "../../../../protocol/ladder.ts";
import { createLogger } from "../../../../ingest-node/src/log.ts";
import { declaredBandwidth } from "../../../../ingest-node/src/pipeline/declared-bandwidth.ts";
import { chooseLadder } from "../../../../ingest-node/src/pipeline/ladder-choice.ts";
import { heartbeatBody, type PipelineStatus, StreamHeartbeat, type StreamHeartbeatDeps } from "../../../../ingest-node/src/pipeline/stream-heartbeat.ts";
import type { PublishSource } from "../../../../ingest-node/src/publish/publish-source.ts";
import type { SourceInfo } from "../../../../ingest-node/src/transcode/ladder-plan.ts";
import { StreamFencedError } from "../../../../ingest-node/src/upload/upload-errors.ts";
import { FakeSession } from "./pipeline-harness.ts";

const source: SourceInfo = { width: 640, height: 360, fps: 30, videoCodec: "h264", audioCodec: "aac", keyframeInterval: 2 };
const choice = { ladder: TEST_LADDER, segmentTarget: 2, copyAllowed: true, copyEarly: false };
const names = (plan: { renditions: { name: string; kind: string }[] }) => plan.renditions.map((r) => `${r.name}:${r.kind}`);

describe("chooseLadder", () => {
  it("plans the node's ladder with the source copy", () => {
    expect(names(chooseLadder(source, choice))).toEqual(["source:copy", "360p:encode", "240p:encode", "160p:encode"]);
  });

  it("encodes the source rendition once the copy is not allowed", () => {
    expect(names(chooseLadder(source, { ...choice, copyAllowed: false }))[0]).toBe("source:encode");
  });

  it("copies before the keyframe interval is known only when asked to", () => {
    const unknown = { ...source, keyframeInterval: null };
    expect(names(chooseLadder(unknown, choice))[0]).toBe("360p:encode");
    expect(names(chooseLadder(unknown, { ...choice, copyEarly: true }))[0]).toBe("source:copy");
  });

  it("on a passthrough node copies only", () => {
    expect(names(chooseLadder(source, { ...choice, ladder: "passthrough" }))).toEqual(["source:copy"]);
  });
});

describe("declaredBandwidth", () => {
  const rung = { kind: "encode" as const, name: "360p", width: 640, height: 360, videoKbps: 600, audioKbps: 64 };

  it("declares an encoded rung's ladder bit rates, audio only with audio", () => {
    expect(declaredBandwidth(rung, true, 0, 0)).toBe(664_000);
    expect(declaredBandwidth(rung, false, 0, 0)).toBe(600_000);
  });

  it("declares the copy's measured rate with 20 % headroom, over at least a second", () => {
    const copy = { kind: "copy" as const, name: "source" as const, width: 640, height: 360 };
    expect(declaredBandwidth(copy, true, 250_000, 2_000)).toBe(1_200_000);
    expect(declaredBandwidth(copy, true, 10_000, 100)).toBe(96_000);
  });
});

const status: PipelineStatus = { epoch: 3, health: "ok", progress: null, paused: false };

describe("heartbeatBody", () => {
  it("reports FFmpeg's figures while fresh, zeros without them", () => {
    const progress = {
      frame: 300,
      fps: 29.9,
      bitrateKbps: 600,
      totalSizeBytes: 1,
      outTimeUs: 1e7,
      dupFrames: 1,
      dropFrames: 2,
      speed: 1.01,
      end: false,
      raw: {},
    };
    expect(heartbeatBody({ ...status, progress }, 2499.6, { objects: 4, bytes: 1000, dropped: 1 }, 2)).toEqual({
      epoch: 3,
      input_kbps: 2500,
      fps: 29.9,
      speed: 1.01,
      backlog: 4,
      upload_dropped: 1,
      keyframe_interval: 2,
      dropped_frames: 2,
      duplicated_frames: 1,
      pipeline: "ok",
    });
    expect(heartbeatBody(status, 0, { objects: 0, bytes: 0, dropped: 0 }, null)).toMatchObject({ fps: 0, speed: 0, dropped_frames: 0, duplicated_frames: 0 });
  });
});

describe("StreamHeartbeat", () => {
  function heartbeat(
    answer: () => Promise<{ ok: boolean; stop: boolean; disconnect: boolean; worker_grant?: string }>,
    current = () => status,
    workerGrant: StreamHeartbeatDeps["workerGrant"] = null,
  ) {
    const session = new FakeSession({ width: 640, height: 360, fps: 30, videoCodec: "h264", audioCodec: "aac", keyframeInterval: 2 });
    const sent: HeartbeatBody[] = [];
    let fenced = 0;
    const beat = new StreamHeartbeat({
      streamId: "s",
      edge: {
        streamHeartbeat: async (_id, body) => {
          sent.push(body);
          return answer();
        },
      },
      session: session as unknown as PublishSource,
      backlog: () => ({ objects: 0, bytes: 0, dropped: 0 }),
      status: current,
      onFenced: () => fenced++,
      workerGrant,
      log: createLogger("test"),
    });
    return { beat, session, sent, fenced: () => fenced };
  }

  it("asks for a fresh worker grant when due, and keeps it only for the epoch it asked under", async () => {
    let due = false;
    const renewed: string[] = [];
    const grant = { renewalDue: () => due, renewed: (token: string) => void renewed.push(token) };
    const quiet = heartbeat(
      async () => ({ ok: true, stop: false, disconnect: false }),
      () => status,
      grant,
    );
    await quiet.beat.send();
    expect(quiet.sent[0]?.renew_worker_grant).toBeUndefined();
    due = true;
    let epoch = status.epoch;
    const renewing = heartbeat(
      async () => ({ ok: true, stop: false, disconnect: false, worker_grant: `wg-${epoch}` }),
      () => ({ ...status, epoch }),
      grant,
    );
    await renewing.beat.send();
    expect(renewing.sent[0]?.renew_worker_grant).toBe(true);
    expect(renewed).toEqual([`wg-${status.epoch}`]);
    // A restart took a new epoch (and its own grant) while the heartbeat was on its way: the answer's grant is stale.
    const restarted = heartbeat(
      async () => {
        epoch = status.epoch + 1;
        return { ok: true, stop: false, disconnect: false, worker_grant: "wg-old" };
      },
      () => ({ ...status, epoch }),
      grant,
    );
    epoch = status.epoch;
    await restarted.beat.send();
    expect(renewed).toEqual([`wg-${status.epoch}`]);
  });

  it("disconnects the publisher when the owner stopped the broadcast or the key was rotated", async () => {
    const stopped = heartbeat(async () => ({ ok: true, stop: true, disconnect: false }));
    await stopped.beat.send();
    expect(stopped.session.closedWith).toBe("stopped by the stream's owner");
    const rotated = heartbeat(async () => ({ ok: true, stop: false, disconnect: true }));
    await rotated.beat.send();
    expect(rotated.session.closedWith).toBe("stream key rotated");
  });

  it("sends nothing while a restart swaps the grant", async () => {
    const paused = heartbeat(
      async () => ({ ok: true, stop: false, disconnect: false }),
      () => ({ ...status, paused: true }),
    );
    await paused.beat.send();
    expect(paused.sent).toEqual([]);
  });

  it("reports a fence for the epoch in force, not for one a restart already handed back", async () => {
    let epoch = 3;
    const fence = async () => {
      throw new StreamFencedError("s", 3, "lease lost");
    };
    const current = heartbeat(fence, () => ({ ...status, epoch }));
    await current.beat.send();
    expect(current.fenced()).toBe(1);
    const moved = heartbeat(
      async () => {
        epoch = 4;
        return fence();
      },
      () => ({ ...status, epoch }),
    );
    epoch = 3;
    await moved.beat.send();
    expect(moved.fenced()).toBe(0);
  });
});
