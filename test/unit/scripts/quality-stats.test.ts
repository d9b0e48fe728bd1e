// The pool quality script's sums of FFmpeg's psnr/ssim stats files: PSNR from the mean MSE, frames grouped by their
// position in a segment.
import { describe, expect, it } from "vitest";
import { parseQualityStats, psnrOfMse, summarize, summarizeBySegmentPosition } from "../../../scripts/lib/quality-stats.ts";

// Lines as FFmpeg 5.1 writes them.
const psnr = [
  "n:1 mse_avg:6.50 mse_y:8.00 mse_u:3.00 mse_v:3.50 psnr_avg:39.00 psnr_y:39.10 psnr_u:43.36 psnr_v:42.69",
  "n:2 mse_avg:26.01 mse_y:30.00 mse_u:10.00 mse_v:12.00 psnr_avg:33.98 psnr_y:33.36 psnr_u:38.13 psnr_v:37.34",
  "n:3 mse_avg:0.00 mse_y:0.00 mse_u:0.00 mse_v:0.00 psnr_avg:inf psnr_y:inf psnr_u:inf psnr_v:inf",
  "",
].join("\n");
const ssim = [
  "n:1 Y:0.950000 U:0.970000 V:0.960000 All:0.955000 (13.46)",
  "n:2 Y:0.900000 U:0.95 V:0.94 All:0.915 (10.7)",
  "n:3 Y:1 U:1 V:1 All:1.000000 (inf)",
  "",
].join("\n");

describe("quality stats", () => {
  it("reads both files frame by frame, inf included", () => {
    const frames = parseQualityStats(psnr, ssim);
    expect(frames).toEqual([
      { mse: 6.5, psnrY: 39.1, ssim: 0.955 },
      { mse: 26.01, psnrY: 33.36, ssim: 0.915 },
      { mse: 0, psnrY: Number.POSITIVE_INFINITY, ssim: 1 },
    ]);
  });

  it("refuses files that disagree on the frame count, or a line without its figure", () => {
    expect(() => parseQualityStats(psnr, ssim.split("\n").slice(1).join("\n"))).toThrow(/psnr saw 3 frames, ssim 2/);
    expect(() => parseQualityStats("n:1 psnr_y:3", "n:1 All:0.5")).toThrow(/unreadable stats at frame 1/);
  });

  it("takes PSNR from the mean MSE, not the mean of the frames' PSNR", () => {
    const summary = summarize(parseQualityStats(psnr, ssim));
    expect(summary.frames).toBe(3);
    expect(summary.psnr).toBeCloseTo(psnrOfMse((6.5 + 26.01 + 0) / 3), 10);
    expect(summary.psnr).toBeCloseTo(37.78, 2);
    expect(summary.ssim).toBeCloseTo((0.955 + 0.915 + 1) / 3, 10);
    expect(psnrOfMse(0)).toBe(Number.POSITIVE_INFINITY);
    expect(() => summarize([])).toThrow(RangeError);
  });

  it("groups frames by their position in the segment", () => {
    // Two segments of 3 frames: MSE 1, 2, 3 then 3, 2, 1.
    const frames = [1, 2, 3, 3, 2, 1].map((mse) => ({ mse, psnrY: 0, ssim: mse / 10 }));
    const [first, rest] = summarizeBySegmentPosition(frames, 3, [0, 1]);
    expect(first!.frames).toBe(2);
    expect(first!.psnr).toBeCloseTo(psnrOfMse(2), 10);
    expect(rest!.frames).toBe(4);
    expect(rest!.ssim).toBeCloseTo(0.2, 10);
  });
});
