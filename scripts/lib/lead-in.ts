// A pool job's lead-in, as pool-quality.ts tries it (the worker does not use it: it lost more than one pass, see the
// pool-quality notes in docs/BENCHMARKS.md): the last frames of the previous source segment, encoded before the job's
// own segment so the encoder's rate control reaches the segment's IDR warmed on the same content, then dropped.
import { BoxReader } from "../../ingest-node/src/packager/box-reader.ts";
import { parseFragment } from "../../ingest-node/src/packager/fragment-parser.ts";
import type { InitInfo } from "../../ingest-node/src/packager/init-parser.ts";
import { CmafPackager, type InitEvent, type PackagerEvent, type SegmentEvent } from "../../ingest-node/src/packager/packager.ts";

/** Which frames of the previous segment make the lead-in. */
export interface LeadInFrames {
  /** Its first frames, skipped: the lead-in is the frames after them. */
  skipFrames: number;
  /** Frames in the lead-in. */
  frames: number;
  /** The lead-in's duration in seconds: the copied audio is put after it, out of the lead-in's fragments. */
  seconds: number;
}

/** A lead-in: its frames of the previous source segment, in a file FFmpeg reads (the segment with its init in front). */
export interface LeadIn extends LeadInFrames {
  input: string;
}

/** How long after the lead-in's video the copied audio starts in FFmpeg's output (seconds). */
const LEAD_IN_AUDIO_GAP_S = 0.1;

/**
 * A job's FFmpeg arguments (jobFfmpegArgs, one input) with `leadIn` in front: the previous segment read first, its
 * last frames joined before the segment's with the concat filter, the segment's IDR forced after them (the lead-in
 * starts with its own, so it is a GOP of its own), and only the segment's audio copied, shifted to start a little after
 * the lead-in's video so the muxer puts none of it in the lead-in's fragments (the runner moves each track onto the
 * source's times anyway).
 */
export function withLeadIn(args: readonly string[], leadIn: LeadIn): string[] {
  const input = args.indexOf("-i");
  if (input < 0 || args.indexOf("-i", input + 1) >= 0) throw new RangeError("one input is expected");
  const out = [...args.slice(0, input), "-i", leadIn.input, "-itsoffset", (leadIn.seconds + LEAD_IN_AUDIO_GAP_S).toFixed(3), ...args.slice(input)];
  return out.map((arg, i) => {
    if (out[i - 1] === "-filter_complex") {
      if (!arg.startsWith("[0:v:0]")) throw new RangeError("the graph is expected to start from the input's video");
      const lead = `[0:v:0]trim=start_frame=${leadIn.skipFrames},setpts=PTS-STARTPTS[lead];[1:v:0]setpts=PTS-STARTPTS[main];[lead][main]concat=n=2:v=1:a=0[joined];`;
      return lead + arg.replace("[0:v:0]", "[joined]");
    }
    if (out[i - 1] === "-map" && arg === "0:a:0?") return "1:a:0?";
    if (out[i - 1] === "-force_key_frames") return `expr:eq(n,0)+eq(n,${leadIn.frames})`;
    return arg;
  });
}

/** The last `frames` frames of `previous` (all of them when it has fewer); null when it has no video sample. */
export function leadInFrames(init: InitInfo, previous: Uint8Array, frames: number): LeadInFrames | null {
  const video = init.tracks.find((t) => t.handler === "vide");
  if (!video || frames <= 0) return null;
  const tracks = new Map(init.tracks.map((t) => [t.id, t]));
  const reader = new BoxReader();
  let count = 0;
  let ticks = 0;
  for (const box of [...reader.push(previous), ...reader.end()]) {
    if (box.type !== "moof") continue;
    const fragment = parseFragment(box, tracks).tracks.find((t) => t.trackId === video.id);
    count += fragment?.sampleCount ?? 0;
    ticks += fragment?.duration ?? 0;
  }
  if (count === 0) return null;
  const taken = Math.min(frames, count);
  return { skipFrames: count - taken, frames: taken, seconds: (taken * ticks) / count / video.timescale };
}

/**
 * `encoded` (FFmpeg's fMP4 of a job encoded with a lead-in) without the lead-in: its init, then its fragments from the
 * segment's IDR on. FFmpeg starts a fragment at every keyframe and the lead-in is a GOP of its own, so it is exactly
 * the fragments before the second keyframe.
 */
export function dropLeadIn(encoded: Uint8Array): Uint8Array {
  // A tiny segment target makes the packager cut at every keyframe: the lead-in, then the job's segment.
  const packager = new CmafPackager({ segmentTarget: 0.001, parts: false, maxSegmentDuration: 3_600 });
  const events: PackagerEvent[] = [...packager.push(encoded), ...packager.end()];
  const init = events.find((e): e is InitEvent => e.type === "init");
  const segments = events.filter((e): e is SegmentEvent => e.type === "segment");
  if (!init || segments.length !== 2) throw new Error(`an output with a lead-in has an init and 2 GOPs, this one ${segments.length}`);
  const out = new Uint8Array(init.bytes.byteLength + segments[1]!.bytes.byteLength);
  out.set(init.bytes, 0);
  out.set(segments[1]!.bytes, init.bytes.byteLength);
  return out;
}
