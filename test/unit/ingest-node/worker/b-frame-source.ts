// Test media for the pool's timing tests: real FFmpeg bytes cut by the node's packager, as a worker reads a source.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CmafPackager, type InitEvent, type PackagerEvent, type SegmentEvent } from "../../../../ingest-node/src/packager/packager.ts";
import { jobFfmpegArgs } from "../../../../ingest-node/src/worker/encoder-args.ts";

/** The init and segments the node's packager cuts from a whole fMP4 file (2 s segments, no parts). */
export function packageFile(data: Uint8Array): { init: InitEvent; segments: SegmentEvent[] } {
  const packager = new CmafPackager({ segmentTarget: 2, parts: false });
  const events: PackagerEvent[] = [...packager.push(new Uint8Array(data)), ...packager.end()];
  return { init: events.find((e): e is InitEvent => e.type === "init")!, segments: events.filter((e): e is SegmentEvent => e.type === "segment") };
}

/**
 * A 4 s source as a publisher's x264 sends it (320x180, 30 fps, B-frames with positive composition offsets, a keyframe
 * every 2 s, AAC), written by FFmpeg into `dir` and cut by the node's packager into two 2 s segments.
 */
export function bFrameSource(dir: string): { init: InitEvent; segments: SegmentEvent[] } {
  const file = join(dir, "source.mp4");
  execFileSync("ffmpeg", [
    ...["-nostdin", "-hide_banner", "-loglevel", "error", "-y"],
    ...["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "4"],
    ...["-c:v", "libx264", "-preset", "veryfast", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-c:a", "aac", "-b:a", "64k"],
    ...["-f", "mp4", "-movflags", "frag_keyframe+empty_moov+default_base_moof", file],
  ]);
  return packageFile(readFileSync(file));
}

/** A job's FFmpeg arguments for one small rung (160p, libx264 `ultrafast`, audio copied) of `input`, as a worker runs them. */
export function smallRungJobArgs(input: string, output: string, videoTimescale: number): string[] {
  return jobFfmpegArgs({
    input,
    rungs: [{ name: "160p", width: 284, height: 160, videoKbps: 300, audioKbps: 64 }],
    outputs: [output],
    encoder: "libx264",
    preset: "ultrafast",
    hasAudio: true,
    videoTimescale,
    fragmentDuration: 0.5,
  });
}
