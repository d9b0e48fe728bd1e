import { describe, expect, it } from "vitest";
import { catchUpRate } from "../../../../edge/web/src/live-catch-up.ts";

const at = (latency: number, ahead: number, partTarget = 0.2) => catchUpRate({ latency, target: 3 * partTarget, ahead, partTarget, maxRate: 1.15 });

describe("catchUpRate", () => {
  it("plays at 1x on target or within the dead band", () => {
    expect(at(0.6, 0.5)).toBe(1);
    expect(at(0.64, 0.5)).toBe(1);
    expect(at(0.5, 0.5)).toBe(1);
  });

  it("plays faster in 0.05 steps growing with the gap, up to the maximum", () => {
    expect(at(0.7, 0.6)).toBe(1.05);
    expect(at(0.8, 0.7)).toBe(1.1);
    expect(at(0.9, 0.8)).toBe(1.15);
    expect(at(3, 2.5)).toBe(1.15);
  });

  it("catches up with less than 1 s buffered (hls.js's own threshold), but never below two parts", () => {
    expect(at(0.9, 0.41)).toBe(1.15);
    expect(at(0.9, 0.4)).toBe(1);
    expect(at(2.5, 1, 0.5)).toBe(1);
    expect(at(2.5, 1.2, 0.5)).toBe(1.15);
  });

  it("plays at 1x when the latency is unknown", () => {
    expect(catchUpRate({ latency: Number.NaN, target: 0.6, ahead: 1, partTarget: 0.2, maxRate: 1.15 })).toBe(1);
  });
});
