import { describe, expect, it } from "vitest";
import { catchUpRate, joinPosition } from "../../../../edge/web/src/live-catch-up.ts";

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

describe("joinPosition", () => {
  const join = (currentTime: number, syncPosition: number | null, buffered: [number, number][] = [[10, 14]]) =>
    joinPosition({ currentTime, syncPosition, partTarget: 0.2, buffered });

  it("moves a player that starts more than two parts behind its target to the target", () => {
    expect(join(10.2, 12)).toBe(12);
  });

  it("stays within two parts of the target, ahead of it, or before hls.js knows the edge", () => {
    expect(join(11.7, 12)).toBeNull();
    expect(join(12.5, 12)).toBeNull();
    expect(join(10.2, null)).toBeNull();
  });

  it("stays when the target is not buffered with a part after it", () => {
    expect(join(10.2, 13.9)).toBeNull();
    expect(
      join(10.2, 12, [
        [10, 11],
        [12.5, 14],
      ]),
    ).toBeNull();
    expect(
      join(10.2, 12, [
        [10, 11],
        [11.9, 14],
      ]),
    ).toBe(12);
  });
});
