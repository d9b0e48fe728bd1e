import { describe, expect, it } from "vitest";
import { INITIAL_META, type LiveMeta } from "../../../../edge/src/live/live-meta.ts";
import { liveStatus } from "../../../../edge/src/live/live-status.ts";
import { createLiveWindow } from "../../../../edge/src/live/window.ts";
import { addLadder } from "./fixtures.ts";

const NOW = 1_000_000;
const HEALTH = {
  epoch: 3,
  input_kbps: 2499.6,
  fps: 30,
  speed: 1.01,
  backlog: 2,
  keyframe_interval: 2,
  dropped_frames: 1,
  duplicated_frames: 0,
  upload_dropped: 4,
  pipeline: "restarted" as const,
  at: NOW,
};

function meta(overrides: Partial<LiveMeta> = {}): LiveMeta {
  return {
    ...INITIAL_META,
    status: "live",
    startedAt: "2026-11-25T12:00:00.000Z",
    lease: { nodeId: "node-a", epoch: 3, firstMsn: 0, connected: true, lastSeenAt: NOW, disconnectedAt: null },
    health: HEALTH,
    lastMediaAt: NOW - 1_234,
    ...overrides,
  };
}

describe("liveStatus", () => {
  it("reports a connected broadcast's health, renditions and viewers", () => {
    const window = createLiveWindow({ mode: "standard" });
    addLadder(window);
    const status = liveStatus(meta(), window, 7, NOW, 3);
    expect(status).toMatchObject({ status: "live", started_at: "2026-11-25T12:00:00.000Z", viewers: 7, held_requests: 3, bitrate_kbps: 2500 });
    expect(status.health).toEqual({
      ingest_connected: true,
      node_id: "node-a",
      epoch: 3,
      last_segment_age_s: 1.2,
      fps: 30,
      encoder_speed: 1.01,
      upload_backlog: 2,
      keyframe_interval: 2,
      dropped_frames: 1,
      upload_dropped: 4,
      pipeline: "restarted",
    });
    expect(status.renditions).toContainEqual({
      name: "160p",
      width: 284,
      height: 160,
      bandwidth: 248_000,
      codecs: "avc1.42c00c,mp4a.40.2",
      frame_rate: 29.97,
      behind_segments: 0,
      gaps: 0,
      pool: false,
    });
    expect(status.renditions).toHaveLength(3);
  });

  it("counts a stop in progress as offline", () => {
    expect(liveStatus(meta({ stopping: { deadline: NOW + 1, reason: "stopped" } }), null, 0, NOW).status).toBe("offline");
  });

  it("reports no bitrate once the node disconnected", () => {
    const lease = { nodeId: "node-a", epoch: 3, firstMsn: 0, connected: false, lastSeenAt: NOW, disconnectedAt: NOW };
    const status = liveStatus(meta({ lease }), null, 0, NOW);
    expect(status.bitrate_kbps).toBe(0);
    expect(status.health.ingest_connected).toBe(false);
  });

  it("reports nothing measured for a stream that never went live", () => {
    const status = liveStatus(INITIAL_META, null, 0, NOW);
    expect(status).toMatchObject({ status: "offline", started_at: null, bitrate_kbps: 0, renditions: [] });
    expect(status.health.last_segment_age_s).toBeNull();
    expect(status.health.node_id).toBeNull();
  });
});
