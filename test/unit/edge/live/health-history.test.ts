// What a health sample holds, what the bounded history keeps, and what `since` asks for (live/health-history.ts).
import { describe, expect, it } from "vitest";
import { HEALTH_HISTORY_MS, healthSample, ringBounds, sinceParameter } from "../../../../edge/src/live/health-history.ts";
import { addInit, addSegment, createLiveWindow } from "../../../../edge/src/live/window.ts";

const NOW = Date.parse("2026-12-06T12:00:00Z");
const heartbeat = {
  epoch: 1,
  input_kbps: 2499.6,
  fps: 29.971,
  speed: 0.987,
  backlog: 4,
  keyframe_interval: 2,
  dropped_frames: 0,
  duplicated_frames: 0,
  upload_dropped: 0,
};

function windowWith(renditions: { name: string; pdt: string | null }[]) {
  const window = createLiveWindow({ mode: "low" });
  for (const { name, pdt } of renditions) {
    addInit(window, name, { epoch: 1, codecs: "avc1.42c01e", width: 640, height: 360, bandwidth: 800_000, frame_rate: 30 });
    addSegment(window, name, { epoch: 1, msn: 0, duration: 2, program_date_time: pdt ?? new Date(0).toISOString(), parts: 0 });
    // A segment without a program date-time (the window keeps null for those).
    if (pdt === null) for (const segment of window.renditions.find((r) => r.name === name)?.segments ?? []) segment.programDateTime = null;
  }
  return window;
}

describe("healthSample", () => {
  it("rounds the heartbeat's figures and measures each rendition's lag from its newest segment's capture end", () => {
    const window = windowWith([
      { name: "360p", pdt: "2026-12-06T11:59:56.000Z" },
      { name: "240p", pdt: "2026-12-06T11:59:50.500Z" },
      { name: "160p", pdt: null },
    ]);
    const sample = healthSample(NOW, heartbeat, window, NOW - 1234, 7);
    expect(sample).toEqual({
      at: NOW,
      input_kbps: 2500,
      fps: 29.97,
      encoder_speed: 0.99,
      last_segment_age_s: 1.2,
      upload_backlog: 4,
      viewers: 7,
      // 360p: captured until 11:59:58, 2 s ago; 240p: until 11:59:52.5, 7.5 s ago; 160p: no program date-time.
      rendition_lag_s: { "360p": 2, "240p": 7.5, "160p": null },
    });
  });

  it("has no lag and no segment age before any media", () => {
    expect(healthSample(NOW, heartbeat, null, null, 0)).toMatchObject({ last_segment_age_s: null, rendition_lag_s: {} });
  });
});

describe("ringBounds", () => {
  it("keeps the newest maxSamples and nothing older than an hour", () => {
    expect(ringBounds(NOW, 100, 8)).toEqual({ minAt: NOW - HEALTH_HISTORY_MS, minSeq: 93 });
    // Fewer samples than the bound: the sequence bound keeps them all.
    expect(ringBounds(NOW, 3, 8).minSeq).toBeLessThanOrEqual(1);
  });
});

describe("sinceParameter", () => {
  it("reads ISO times and epoch milliseconds, never reaching back more than an hour", () => {
    expect(sinceParameter(undefined, NOW)).toBe(NOW - HEALTH_HISTORY_MS);
    expect(sinceParameter("", NOW)).toBe(NOW - HEALTH_HISTORY_MS);
    expect(sinceParameter("2026-12-06T11:59:00Z", NOW)).toBe(NOW - 60_000);
    expect(sinceParameter(String(NOW - 5_000), NOW)).toBe(NOW - 5_000);
    expect(sinceParameter("2026-12-05T00:00:00Z", NOW)).toBe(NOW - HEALTH_HISTORY_MS);
  });

  it("answers null for anything else", () => {
    expect(sinceParameter("yesterday", NOW)).toBeNull();
    expect(sinceParameter("-5", NOW)).toBeNull();
  });
});
