// The stream object's publisher rules, outside the object: revoked keys, the window a broadcast's first publish fixes,
// the pool, the lease a publish is granted and what a heartbeat is answered; the lease touched by uploads; when retired
// media may go; a segment that makes a pool rung late; the outbox steps of a start, a stop and a legacy cleanup.
import { describe, expect, it } from "vitest";
import type { StreamHeartbeat } from "../../../../protocol/ingest.ts";
import { type Lease, touchLease } from "../../../../edge/src/live/lease.ts";
import { INITIAL_META, type LiveMeta } from "../../../../edge/src/live/live-meta.ts";
import { retiredAddresses, retirementDue } from "../../../../edge/src/live/media-retirement.ts";
import { pendingCleanupSteps, startOfBroadcastSteps, stopSteps } from "../../../../edge/src/live/outbox.ts";
import {
  broadcastWindow,
  grantLease,
  heartbeatAnswer,
  keyRevoked,
  keyRotation,
  POOL_LATE_AFTER_SEGMENTS,
  publishAnswer,
  publishPool,
} from "../../../../edge/src/live/publisher.ts";
import { addInit, addSegment, addSegmentMarkingLate, createLiveWindow, findRendition } from "../../../../edge/src/live/window.ts";
import { initMeta, segmentMeta } from "./fixtures.ts";

const NOW = 1_000_000;
const lease = (over: Partial<Lease> = {}): Lease => ({ nodeId: "n1", epoch: 4, firstMsn: 10, connected: true, lastSeenAt: 0, disconnectedAt: null, ...over });
const meta = (over: Partial<LiveMeta> = {}): LiveMeta => ({ ...INITIAL_META, streamId: "s1", status: "live", sessionId: "sess1", ...over });
const heartbeat = (over: Partial<StreamHeartbeat> = {}) => ({ epoch: 4, ...over }) as StreamHeartbeat;

describe("publisher rules", () => {
  it("refuses a key created before the last rotation, and nothing when the key's age or a rotation is unknown", () => {
    const rotation = { keysBefore: "2026-12-06T12:00:00Z", epoch: null };
    expect(keyRevoked(rotation, "2026-12-06T11:59:59Z")).toBe(true);
    expect(keyRevoked(rotation, "2026-12-06T12:00:00Z")).toBe(false);
    expect(keyRevoked(rotation, undefined)).toBe(false);
    expect(keyRevoked(null, "2000-01-01T00:00:00Z")).toBe(false);
  });

  it("a rotation names the connected publisher's epoch only when its key is older than the new one", () => {
    const keysBefore = "2026-12-06T12:00:00Z";
    expect(keyRotation(meta({ lease: lease(), leaseKeyCreatedAt: "2026-12-01T00:00:00Z" }), keysBefore)).toEqual({ keysBefore, epoch: 4 });
    expect(keyRotation(meta({ lease: lease(), leaseKeyCreatedAt: keysBefore }), keysBefore)).toEqual({ keysBefore, epoch: null });
    expect(keyRotation(meta({ lease: lease({ connected: false }), leaseKeyCreatedAt: "2026-12-01T00:00:00Z" }), keysBefore).epoch).toBeNull();
    // A lease saved before key ages were kept counts as an old key.
    expect(keyRotation(meta({ lease: lease() }), keysBefore).epoch).toBe(4);
  });

  it("fixes the window at the first publish: part target, encryption, DVR capped by the setting, in segments", () => {
    const window = broadcastWindow("interactive", { part_target: 0.5, dvr_window: 600 }, null, 120);
    expect([window.mode, window.partTarget, window.segmentTarget, window.dvrSegments]).toEqual(["interactive", 0.5, 2, 60]);
    expect(broadcastWindow("low", {}, null, 120).dvrSegments).toBeUndefined();
  });

  it("a pool only when it makes renditions", () => {
    expect(publishPool(["360p"])).toEqual({ renditions: ["360p"], lateAfterSegments: POOL_LATE_AFTER_SEGMENTS });
    expect(publishPool([])).toBeNull();
    expect(publishPool(undefined)).toBeNull();
  });

  it("grants the next epoch from the next msn, remembers the broadcast's first epoch, and answers with them", () => {
    const m = meta({ nextEpoch: 7, nextMsn: 42, sessionFirstEpoch: null });
    expect(grantLease(m, "n2", "2026-12-06T10:00:00Z", NOW)).toEqual({ epoch: 7, firstMsn: 42 });
    expect(grantLease(m, "n3", undefined, NOW + 1)).toEqual({ epoch: 8, firstMsn: 42 });
    expect(m).toMatchObject({ nextEpoch: 9, sessionFirstEpoch: 7, leaseKeyCreatedAt: null });
    expect(m.lease).toEqual({ nodeId: "n3", epoch: 8, firstMsn: 42, connected: true, lastSeenAt: NOW + 1, disconnectedAt: null });
    const answer = publishAnswer("s1", createLiveWindow({ mode: "low" }), { epoch: 8, firstMsn: 42 }, true, null);
    expect(answer).toMatchObject({ stream_id: "s1", latency_mode: "low", epoch: 8, first_msn: 42, reconnect: true, part_target: null, encryption: null });
  });

  it("answers a heartbeat: stop first, then disconnect for a rotated key's epoch, then a grant renewal when asked", () => {
    const window = createLiveWindow({ mode: "low" });
    window.pool = publishPool(["360p"]);
    const stopping = { deadline: NOW, reason: "stopped" as const };
    expect(heartbeatAnswer(meta({ stopping, keyRotation: { keysBefore: "x", epoch: 4 } }), window, heartbeat())).toEqual({ ok: true, stop: true });
    expect(heartbeatAnswer(meta({ keyRotation: { keysBefore: "x", epoch: 4 } }), window, heartbeat())).toEqual({ ok: true, disconnect: true });
    expect(heartbeatAnswer(meta({ keyRotation: { keysBefore: "x", epoch: 3 } }), window, heartbeat())).toEqual({ ok: true });
    expect(heartbeatAnswer(meta(), window, heartbeat({ renew_worker_grant: true }))).toEqual({ ok: true, poolRenditions: ["360p"] });
    expect(heartbeatAnswer(meta(), createLiveWindow({ mode: "low" }), heartbeat({ renew_worker_grant: true }))).toEqual({ ok: true });
  });

  it("an upload after an unpublish reconnects the lease while the broadcast is live, not after it ended", () => {
    const resumed = lease({ connected: false, disconnectedAt: 5 });
    touchLease(resumed, NOW, true);
    expect(resumed).toMatchObject({ connected: true, disconnectedAt: null, lastSeenAt: NOW });
    const ended = lease({ connected: false, disconnectedAt: 5 });
    touchLease(ended, NOW, false);
    expect(ended).toMatchObject({ connected: false, disconnectedAt: 5, lastSeenAt: NOW });
  });
});

describe("retired media", () => {
  it("addresses evicted objects by their recorded epoch, skipping parts of segments never recorded", () => {
    const refs = [
      { kind: "init", rendition: "360p", epoch: 2 },
      { kind: "segment", rendition: "360p", msn: 5 },
      { kind: "part", rendition: "360p", msn: 5, part: 1 },
      { kind: "part", rendition: "360p", msn: 9, part: 0 },
    ] as const;
    const addresses = retiredAddresses([...refs], "s1", (_rendition, msn) => (msn === 5 ? 3 : null));
    expect(addresses.map((a) => `${a.epoch}/${a.file}`)).toEqual(["2/init.mp4", "3/seg-5.m4s", "3/part-5.1.m4s"]);
  });

  it("is due once the live window, and the DVR window with it, has passed", () => {
    expect(retirementDue({ windowSegments: 15, segmentTarget: 2 }, NOW)).toBe(NOW + 30_000);
    expect(retirementDue({ windowSegments: 15, dvrSegments: 30, segmentTarget: 2 }, NOW)).toBe(NOW + 90_000);
  });
});

describe("addSegmentMarkingLate", () => {
  it("adds the segment and lists a pool rung's missing one as a GAP in the same result", () => {
    const state = createLiveWindow({ mode: "low" });
    state.pool = publishPool(["360p"]);
    addInit(state, "source", initMeta(1), { firstMsn: 0 });
    addInit(state, "360p", initMeta(1), { firstMsn: 0 });
    addSegment(state, "360p", segmentMeta(0));
    for (let msn = 0; msn <= 4; msn++) expect(addSegmentMarkingLate(state, "source", segmentMeta(msn)).outcome).toBe("added");
    expect(findRendition(state, "360p")!.segments.map((s) => s.msn)).toEqual([0]);
    const result = addSegmentMarkingLate(state, "source", segmentMeta(5));
    expect([result.outcome, result.changed]).toEqual(["added", true]);
    expect(findRendition(state, "360p")!.segments.map((s) => [s.msn, s.gap])).toEqual([
      [0, false],
      [1, true],
    ]);
  });
});

describe("outbox steps of a start, a stop and a cleanup saved before the outbox", () => {
  it("a start announces stream.live with the session, at once", () => {
    const steps = startOfBroadcastSteps({ streamId: "s1", sessionId: "sess1", startedAt: "2026-12-06T11:00:00Z", nodeId: "n1" }, "evt_1");
    expect(steps).toEqual([
      {
        step: {
          kind: "webhook",
          streamId: "s1",
          type: "stream.live",
          eventId: "evt_1",
          createdAt: "2026-12-06T11:00:00Z",
          data: { session_id: "sess1", started_at: "2026-12-06T11:00:00Z", node_id: "n1" },
        },
        at: null,
      },
    ]);
  });

  it("a stop ends the ledger at once", () => {
    const stopped = { streamId: "s1", sessionId: "sess1", startedAt: null, endedAt: "2026-12-06T12:00:00Z", reason: "stopped" as const };
    expect(stopSteps(stopped)).toEqual([{ step: { kind: "ledger-end", ...stopped }, at: null }]);
  });

  it("a saved cleanup becomes its release step, due when it was", () => {
    expect(pendingCleanupSteps("s1", { at: 77, firstEpoch: 2, lastEpoch: 3 })).toEqual([
      { step: { kind: "release-unrecorded", streamId: "s1", sessionId: null, firstEpoch: 2, lastEpoch: 3 }, at: 77 },
    ]);
  });
});
