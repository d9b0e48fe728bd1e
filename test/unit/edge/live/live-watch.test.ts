import { describe, expect, it } from "vitest";
import { INITIAL_META, type LiveMeta, NODE_SILENCE_MS, STOP_GRACE_MS, WATCH_INTERVAL_MS } from "../../../../edge/src/live/live-meta.ts";
import { stopDeadline, watchStep } from "../../../../edge/src/live/live-watch.ts";

const NOW = 1_000_000;

function live(overrides: Partial<LiveMeta> = {}): LiveMeta {
  return { ...INITIAL_META, streamId: "s", status: "live", reconnectWindowS: 60, ...overrides };
}

function lease(connected: boolean, lastSeenAt: number, disconnectedAt: number | null = null): LiveMeta["lease"] {
  return { nodeId: "n", epoch: 1, firstMsn: 0, connected, lastSeenAt, disconnectedAt };
}

describe("watchStep", () => {
  it("does nothing for an offline stream", () => {
    expect(watchStep({ ...INITIAL_META, lease: lease(true, 0) }, NOW)).toEqual({ kind: "idle" });
  });

  it("ends a stop at its deadline and waits for it before", () => {
    const meta = live({ lease: lease(true, NOW), stopping: { deadline: NOW + 10, reason: "stopped" } });
    expect(watchStep(meta, NOW)).toEqual({ kind: "alarm", at: NOW + 10 });
    expect(watchStep(meta, NOW + 10)).toEqual({ kind: "end", reason: "stopped" });
  });

  it("keeps watching a connected node until it has been silent for NODE_SILENCE_MS", () => {
    expect(watchStep(live({ lease: lease(true, NOW - NODE_SILENCE_MS + 1) }), NOW)).toEqual({ kind: "alarm", at: NOW + WATCH_INTERVAL_MS });
    expect(watchStep(live({ lease: lease(true, NOW - NODE_SILENCE_MS) }), NOW)).toEqual({ kind: "disconnect", at: NOW - NODE_SILENCE_MS });
  });

  it("ends the broadcast once the reconnect window has passed since the disconnect", () => {
    const meta = live({ lease: lease(false, 0, NOW) });
    expect(watchStep(meta, NOW + 59_999)).toEqual({ kind: "alarm", at: NOW + 60_000 });
    expect(watchStep(meta, NOW + 60_000)).toEqual({ kind: "end", reason: "reconnect_window_expired" });
  });

  it("leaves a stream started by POST /start that never published live", () => {
    expect(watchStep(live(), NOW)).toEqual({ kind: "idle" });
  });
});

describe("stopDeadline", () => {
  it("gives the node at least STOP_GRACE_MS, more for long segments", () => {
    expect(stopDeadline(NOW, 2)).toBe(NOW + STOP_GRACE_MS);
    expect(stopDeadline(NOW, 6)).toBe(NOW + 16_000);
  });
});
