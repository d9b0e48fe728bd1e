// A pool job's lead-in: the last frames of the previous source segment, encoded before the job's own segment so the
// encoder's rate control reaches the segment's IDR warmed on the same content, then dropped from the output.
import { BoxReader } from "../packager/box-reader.ts";
import { parseFragment } from "../packager/fragment-parser.ts";
import type { InitInfo } from "../packager/init-parser.ts";
import { CmafPackager, type InitEvent, type PackagerEvent, type SegmentEvent } from "../packager/packager.ts";

/** Frames of the previous segment a job encodes first (measured by scripts/pool-quality.ts; 0.5 s at 30 fps). */
export const LEAD_IN_FRAMES = 15;

/** Which frames of the previous segment make the lead-in (as encoder-args' LeadIn wants them, without the file). */
export interface LeadInFrames {
  skipFrames: number;
  frames: number;
  seconds: number;
}

/** The last `frames` frames of `previous` (all of them when it has fewer); null when it has no video sample. */
export function leadInFrames(init: InitInfo, previous: Uint8Array, frames = LEAD_IN_FRAMES): LeadInFrames | null {
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
