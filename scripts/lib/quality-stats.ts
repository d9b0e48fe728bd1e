// Reads the per-frame stats files of FFmpeg's psnr and ssim filters and sums them up: the whole run, and by a frame's
// position in its segment (where a per-segment encoder restarts, its loss shows first). Pure.

/** One frame's figures from the psnr and ssim filters' stats files. */
export interface FrameQuality {
  /** Mean squared error over Y, U and V (psnr's `mse_avg`). */
  mse: number;
  /** psnr's `psnr_y`, dB (`inf` for an identical plane reads as Infinity). */
  psnrY: number;
  /** ssim's `All`. */
  ssim: number;
}

/** Overall figures of a run of frames. */
export interface QualitySummary {
  frames: number;
  /** dB, from the mean MSE over all frames (as the psnr filter's own `average`). */
  psnr: number;
  /** Mean of the frames' SSIM (as the ssim filter's own `All`). */
  ssim: number;
}

/** The value of `key:` in one stats line (`n:1 mse_avg:3.2 ...`), or null. */
function field(line: string, key: string): number | null {
  const match = new RegExp(`(?:^|\\s)${key}:(\\S+)`).exec(line);
  if (!match) return null;
  return match[1] === "inf" ? Number.POSITIVE_INFINITY : Number(match[1]);
}

/** Joins a psnr stats file and an ssim stats file of the same frames, frame by frame (throws when they disagree). */
export function parseQualityStats(psnrText: string, ssimText: string): FrameQuality[] {
  const psnrLines = psnrText.split("\n").filter((l) => l.startsWith("n:"));
  const ssimLines = ssimText.split("\n").filter((l) => l.startsWith("n:"));
  if (psnrLines.length !== ssimLines.length) throw new Error(`psnr saw ${psnrLines.length} frames, ssim ${ssimLines.length}`);
  return psnrLines.map((line, i) => {
    const mse = field(line, "mse_avg");
    const psnrY = field(line, "psnr_y");
    const ssim = field(ssimLines[i]!, "All");
    if (mse === null || psnrY === null || ssim === null || Number.isNaN(mse + ssim)) throw new Error(`unreadable stats at frame ${i + 1}: ${line}`);
    return { mse, psnrY, ssim };
  });
}

/** PSNR in dB of a mean squared error on 8-bit samples. */
export function psnrOfMse(mse: number): number {
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}

/** PSNR (from the mean MSE) and mean SSIM of `frames`. */
export function summarize(frames: readonly FrameQuality[]): QualitySummary {
  if (frames.length === 0) throw new RangeError("no frames to summarize");
  const mse = frames.reduce((sum, f) => sum + f.mse, 0) / frames.length;
  const ssim = frames.reduce((sum, f) => sum + f.ssim, 0) / frames.length;
  return { frames: frames.length, psnr: psnrOfMse(mse), ssim };
}

/**
 * The frames grouped by their position in a segment of `framesPerSegment` frames: `bounds` [0, 10] makes one group of
 * positions 0-9 and one of 10 to the segment's end. Summaries in the order of `bounds`.
 */
export function summarizeBySegmentPosition(frames: readonly FrameQuality[], framesPerSegment: number, bounds: readonly number[]): QualitySummary[] {
  return bounds.map((from, i) => {
    const to = bounds[i + 1] ?? framesPerSegment;
    const picked = frames.filter((_, n) => n % framesPerSegment >= from && n % framesPerSegment < to);
    return summarize(picked);
  });
}
