import { describe, expect, it } from "vitest";
import { KeyframeCadence } from "../../../../ingest-node/src/whip/keyframe-cadence.ts";

const FRAME = 3000; // 30 fps at 90 kHz

/** Feeds `frames` frames from `start`; a keyframe whenever `keyframeAt` says so. Returns the frames a request was due at. */
function run(cadence: KeyframeCadence, frames: number, keyframeAt: (frame: number, requestedAt: number[]) => boolean, start = 0): number[] {
  const requested: number[] = [];
  for (let frame = 0; frame < frames; frame++) {
    if (cadence.observe((start + frame * FRAME) >>> 0, keyframeAt(frame, requested))) requested.push(frame);
  }
  return requested;
}

describe("KeyframeCadence", () => {
  it("asks at once until the first keyframe, then about two frames before each segment target", () => {
    const cadence = new KeyframeCadence({ intervalS: 2, clockRate: 90_000 });
    // The encoder answers a request with its next frame.
    const requested = run(cadence, 200, (frame, asked) => asked.includes(frame - 1));
    expect(requested[0]).toBe(0);
    // Keyframes at frame 1, then every 60 frames (2 s): each request 2 frames before the target, answered 1 frame later.
    expect(requested.slice(1, 4)).toEqual([59, 118, 177]);
  });

  it("repeats a request that got no keyframe after the retry period, never more often", () => {
    const cadence = new KeyframeCadence({ intervalS: 2, clockRate: 90_000, retryS: 0.5 });
    const requested = run(cadence, 120, (frame) => frame === 0);
    // First due at frame 58 (2 s minus 2 frames), then every 15 frames (0.5 s) while none comes.
    expect(requested).toEqual([58, 73, 88, 103, 118]);
  });

  it("counts media time across the 32-bit RTP timestamp wrap", () => {
    const cadence = new KeyframeCadence({ intervalS: 2, clockRate: 90_000 });
    const start = 0xffffffff - 30 * FRAME;
    const requested = run(cadence, 70, (frame) => frame === 0, start);
    expect(requested).toEqual([58]);
    expect(cadence.sinceKeyframeS()).toBeCloseTo(69 / 30, 5);
  });

  it("ignores a reordered packet that steps back in time", () => {
    const cadence = new KeyframeCadence({ intervalS: 2, clockRate: 90_000 });
    expect(cadence.observe(0, true)).toBe(false);
    for (let frame = 1; frame <= 57; frame++) expect(cadence.observe(frame * FRAME, false)).toBe(false);
    expect(cadence.observe(56 * FRAME, false)).toBe(false);
    expect(cadence.observe(58 * FRAME, false)).toBe(true);
  });

  it("refuses a zero interval", () => {
    expect(() => new KeyframeCadence({ intervalS: 0, clockRate: 90_000 })).toThrow(RangeError);
  });
});
