import { describe, expect, it } from "vitest";
import { CaptureClock } from "../../../../ingest-node/src/pipeline/capture-clock.ts";

describe("CaptureClock", () => {
  it("maps media time to the earliest plausible capture time", () => {
    const clock = new CaptureClock();
    clock.observe(1000, 1_700_000_000_500); // arrived 0.5 s after the publisher's clock said
    clock.observe(2000, 1_700_000_001_450); // less delay: this is the better estimate
    clock.observe(3000, 1_700_000_002_900); // more delay (jitter): ignored
    clock.setOrigin(1000);
    expect(clock.captureTimeMs(0)).toBe(1_700_000_000_450);
    expect(clock.captureTimeMs(2.5)).toBe(1_700_000_002_950);
    expect(clock.programDateTime(0)).toBe(new Date(1_700_000_000_450).toISOString());
  });

  it("keeps the first origin and falls back to now before any observation", () => {
    const clock = new CaptureClock();
    expect(clock.captureTimeMs(1, 42)).toBe(42);
    clock.setOrigin(500);
    clock.setOrigin(900);
    clock.observe(500, 10_500);
    expect(clock.captureTimeMs(0)).toBe(10_500);
  });

  it("keeps a run's dates continuous: a better estimate after the first date moves no later date, a restart takes it", () => {
    const clock = new CaptureClock();
    clock.observe(0, 10_000);
    clock.setOrigin(0);
    const first = clock.captureTimeMs(0);
    clock.observe(1000, 10_997); // 3 ms less delay than before
    expect(clock.captureTimeMs(2)).toBe(first + 2000);
    expect(clock.captureTimeMs(4.5)).toBe(first + 4500);
    clock.resetOrigin();
    clock.setOrigin(1000);
    expect(clock.captureTimeMs(0)).toBe(10_997);
  });
});
