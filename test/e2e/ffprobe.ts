// Runs ffprobe on bytes (written to a temporary file) and returns its JSON, its stderr and its exit code.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One stream as ffprobe reports it (the fields the tests read). */
export interface ProbeStream {
  index: number;
  codec_type: "video" | "audio" | string;
  codec_name?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
}

/** One decoded frame as ffprobe reports it. */
export interface ProbeFrame {
  media_type: "video" | "audio" | string;
  stream_index: number;
  key_frame: number;
  pts?: number;
  pts_time?: string;
  best_effort_timestamp_time?: string;
  pict_type?: string;
  width?: number;
  height?: number;
}

/** What one ffprobe run gave. */
export interface ProbeResult {
  code: number | null;
  /** ffprobe's diagnostics: with `-v error`, anything here is a decoding or demuxing error. */
  stderr: string;
  streams: ProbeStream[];
  frames: ProbeFrame[];
}

/** The ffprobe binary (FFPROBE_PATH, else on PATH). */
export const FFPROBE = process.env.FFPROBE_PATH ?? "ffprobe";

/**
 * Concatenates `parts` (e.g. an init segment and a media segment) into a temporary file and runs
 * `ffprobe -v error -show_streams -show_frames -of json` on it: every frame is decoded, so a clean stderr
 * and exit code 0 mean the media decodes without error.
 */
export async function probeBytes(parts: Uint8Array[], options: { timeoutMs?: number; suffix?: string } = {}): Promise<ProbeResult> {
  const dir = await mkdtemp(join(tmpdir(), "edgecast-probe-"));
  const file = join(dir, `media${options.suffix ?? ".mp4"}`);
  try {
    await writeFile(file, Buffer.concat(parts));
    const args = [
      "-v",
      "error",
      "-show_entries",
      "stream=index,codec_type,codec_name,width,height,r_frame_rate:frame=media_type,stream_index,key_frame,pts,pts_time,best_effort_timestamp_time,pict_type,width,height",
      "-show_frames",
      "-of",
      "json",
      file,
    ];
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(FFPROBE, args, { timeout: options.timeoutMs ?? 20_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
        const exitCode = error ? (typeof (error as { code?: unknown }).code === "number" ? (error as { code: number }).code : null) : 0;
        resolve({ code: exitCode, stdout, stderr });
      });
    });
    let parsed: { streams?: ProbeStream[]; frames?: ProbeFrame[] } = {};
    try {
      parsed = JSON.parse(stdout || "{}");
    } catch {
      // leave empty: the caller sees the exit code and stderr
    }
    return { code, stderr: stderr.trim(), streams: parsed.streams ?? [], frames: parsed.frames ?? [] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The first video frame of a probe (decode order as ffprobe prints it), with its pts in seconds. */
export function firstVideoFrame(result: ProbeResult): { pts: number; keyframe: boolean; frame: ProbeFrame } | null {
  const frame = result.frames.find((f) => f.media_type === "video");
  if (!frame) return null;
  const pts = Number(frame.pts_time ?? frame.best_effort_timestamp_time);
  return { pts, keyframe: frame.key_frame === 1, frame };
}
