// An unrecorded stream keeps its media only while players may still ask for it: what slid out of the live window is
// deleted once every playlist that could have listed it is gone. Pure: which objects, and from when; the stream
// object's SQLite queue (stores/retired-media.ts) keeps them until then.
import { type MediaAddress, mediaFile } from "../storage/media.ts";
import type { LiveWindowState, MediaRef } from "./window.ts";

/** Addresses of window evictions; `epochOf` finds a segment's publish epoch (null when it was never recorded). */
export function retiredAddresses(refs: MediaRef[], streamId: string, epochOf: (rendition: string, msn: number) => number | null): MediaAddress[] {
  const addresses: MediaAddress[] = [];
  for (const ref of refs) {
    const epoch = ref.kind === "init" ? ref.epoch : epochOf(ref.rendition, ref.msn);
    // Parts of a segment that never completed were never recorded: the end-of-broadcast cleanup takes them.
    if (epoch === null) continue;
    const file = ref.kind === "init" ? mediaFile.init() : ref.kind === "segment" ? mediaFile.segment(ref.msn) : mediaFile.part(ref.msn, ref.part);
    addresses.push({ streamId, rendition: ref.rendition, epoch, file });
  }
  return addresses;
}

/**
 * When media evicted from `window` at `now` may be deleted: a window's length later, and with DVR the DVR window's
 * length more (what left the live window is still listed there).
 */
export function retirementDue(window: Pick<LiveWindowState, "windowSegments" | "dvrSegments" | "segmentTarget">, now: number): number {
  const listedSegments = window.windowSegments + (window.dvrSegments ?? 0);
  return now + listedSegments * window.segmentTarget * 1000;
}
