// What goes when the backlog is full: pure choice over the queue's streams and lanes, no I/O.
import type { MediaObjectRef } from "./media-sink.ts";

/** A queued object as the choice sees it. */
export interface EvictableItem {
  inFlight: boolean;
  entry: { seq: number; ref: MediaObjectRef };
}

/** A lane (one stream and rendition, or a stream's thumbnails): its queued items, oldest first. */
export interface EvictableLane<I extends EvictableItem> {
  items: I[];
}

/** A stream: its lanes and the bytes it still has to upload. */
export interface EvictableStream<L> {
  pendingBytes: number;
  lanes: Iterable<L>;
}

/**
 * The items to drop next, with their lane, or null when nothing may go. The victim is the stream with the largest
 * backlog (in bytes) that has anything droppable, and in it the oldest object that is neither in flight nor an init
 * segment (every later object of its rendition needs that one), together with the rest of its segment (its parts and
 * the segment itself), so that the edge lists one clean gap instead of a segment with holes.
 */
export function chooseEviction<I extends EvictableItem, L extends EvictableLane<I>>(streams: Iterable<EvictableStream<L>>): { lane: L; items: I[] } | null {
  const bySize = [...streams].sort((a, b) => b.pendingBytes - a.pendingBytes);
  for (const stream of bySize) {
    let victim: { lane: L; item: I } | null = null;
    for (const lane of stream.lanes) {
      const item = lane.items.find((candidate) => !candidate.inFlight && candidate.entry.ref.kind !== "init");
      if (item && (!victim || item.entry.seq < victim.item.entry.seq)) victim = { lane, item };
    }
    if (!victim) continue;
    const oldest = victim.item;
    const msn = msnOf(oldest.entry.ref);
    const items = victim.lane.items.filter((item) => item === oldest || (msn !== null && !item.inFlight && msnOf(item.entry.ref) === msn));
    return { lane: victim.lane, items };
  }
  return null;
}

function msnOf(ref: MediaObjectRef): number | null {
  return ref.kind === "part" || ref.kind === "segment" ? ref.meta.msn : null;
}
