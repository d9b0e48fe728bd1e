// Parses FFmpeg's `-progress` output (key=value lines, one block per report ending in `progress=...`).

/** One FFmpeg progress report. Counters are null when FFmpeg printed `N/A`. */
export interface ProgressSnapshot {
  /** Frames of the first output's video stream. */
  frame: number | null;
  fps: number | null;
  bitrateKbps: number | null;
  totalSizeBytes: number | null;
  /** Output time in microseconds: the furthest any output stream has reached. */
  outTimeUs: number | null;
  dupFrames: number | null;
  dropFrames: number | null;
  /** Encode speed relative to realtime (`1.02x` -> 1.02). */
  speed: number | null;
  /** True for the last report (`progress=end`). */
  end: boolean;
  /** Every key of the block as printed, including per-stream `stream_<o>_<s>_q`. */
  raw: Record<string, string>;
}

/** Incremental parser: push text as it arrives, get the snapshots completed by it. */
export class ProgressParser {
  private pending = "";
  private block: Record<string, string> = {};

  /** Feeds a chunk of text (split anywhere) and returns the reports it completed. */
  push(chunk: string): ProgressSnapshot[] {
    this.pending += chunk;
    const lines = this.pending.split("\n");
    this.pending = lines.pop() ?? "";
    const done: ProgressSnapshot[] = [];
    for (const line of lines) {
      const eq = line.indexOf("=");
      if (eq <= 0) continue;
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trim();
      this.block[key] = value;
      if (key === "progress") {
        done.push(toSnapshot(this.block));
        this.block = {};
      }
    }
    return done;
  }
}

/** Parses a whole `-progress` text at once. */
export function parseProgress(text: string): ProgressSnapshot[] {
  return new ProgressParser().push(text.endsWith("\n") ? text : `${text}\n`);
}

function toSnapshot(raw: Record<string, string>): ProgressSnapshot {
  return {
    frame: int(raw.frame),
    fps: num(raw.fps),
    bitrateKbps: num(raw.bitrate?.replace(/kbits\/s$/, "")),
    totalSizeBytes: int(raw.total_size),
    // Older builds print the same microseconds under the misnamed key out_time_ms.
    outTimeUs: nonNegative(int(raw.out_time_us) ?? int(raw.out_time_ms)),
    dupFrames: int(raw.dup_frames),
    dropFrames: int(raw.drop_frames),
    speed: num(raw.speed?.replace(/x$/, "")),
    end: raw.progress === "end",
    raw,
  };
}

function num(value: string | undefined): number | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  if (trimmed === "" || trimmed === "N/A") return null;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : null;
}

function nonNegative(n: number | null): number | null {
  // Before the first packet is muxed FFmpeg may print a large negative time.
  return n !== null && n >= 0 ? n : null;
}

function int(value: string | undefined): number | null {
  const n = num(value);
  return n === null ? null : Math.trunc(n);
}
