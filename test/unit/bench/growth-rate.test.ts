import { describe, expect, it } from "vitest";
import { growthRate } from "../../../bench/growth-rate.ts";

describe("growthRate", () => {
  it("measures MiB per 1,000 requests from the warm-up on, and per quarter", () => {
    // 100 MiB of warm-up step, then 2 MiB per 1,000 requests for 8,000 requests, then level for 8,000.
    const samples = [{ requests: 0, mib: 40 }];
    for (let r = 1000; r <= 16_000; r += 1000) samples.push({ requests: r, mib: r <= 8000 ? 140 + (r / 1000) * 2 : 156 });
    const rate = growthRate(samples, 1000);
    expect(rate.from).toBe(142);
    expect(rate.to).toBe(156);
    expect(rate.quarters[0]).toBeCloseTo(2, 6);
    expect(rate.quarters[3]).toBeCloseTo(0, 6);
    expect(rate.overall).toBeGreaterThan(0);
    expect(rate.overall).toBeLessThan(2);
  });

  it("leaves out the warm-up step", () => {
    const samples = [
      { requests: 0, mib: 40 },
      { requests: 1000, mib: 170 },
      { requests: 2000, mib: 170 },
      { requests: 3000, mib: 170 },
    ];
    expect(growthRate(samples, 1000).overall).toBe(0);
    expect(growthRate(samples, 0).overall).toBeGreaterThan(30);
  });

  it("gives nulls without two samples to compare", () => {
    expect(growthRate([{ requests: 5, mib: 1 }], 0)).toEqual({ overall: null, quarters: [null, null, null, null], from: 1, to: 1 });
    expect(growthRate([], 0)).toEqual({ overall: null, quarters: [null, null, null, null], from: null, to: null });
  });
});
