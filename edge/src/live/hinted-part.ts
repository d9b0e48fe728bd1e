// Requests for a part a player loads before it exists, as EXT-X-PRELOAD-HINT invites it to (§4.4.5.3, §6.2.6): is the
// part there, worth waiting for, or never coming? Pure, so the same check serves the first look and every wake-up.
// "§" cites draft-pantos-hls-rfc8216bis.
import { lowLatencyParameters } from "./playlist.ts";
import { findRendition, inProgress, listedSegment, preloadHint } from "./window.ts";
import type { LiveWindowState, RenditionState } from "./window.ts";

/** One part of one rendition, as its playback URL names it (storage/media.ts partOfFile reads its file name). */
export interface PartAddress {
  rendition: string;
  epoch: number;
  msn: number;
  part: number;
}

/** What to do with a request for a part R2 does not hold (yet). `wait` ends in a 503 after `timeoutMs`. */
export type HintedPartDecision = { kind: "ready" } | { kind: "wait"; timeoutMs: number } | { kind: "gone"; detail: string };

/**
 * Decides a request for a part. `ready`: the stream's object has it committed (so R2 holds it). `wait`: it is the part
 * the rendition's EXT-X-PRELOAD-HINT names, or one the window still owes — the next part of the segment in progress
 * after the hint moved on to the following segment (a player may read a playlist a moment old), or a part a closed
 * segment was cut with that has not landed yet. Everything else is `gone` at once: not live (nothing is ever hinted
 * without LL-HLS or after EXT-X-ENDLIST), another epoch, out of the window, a segment closed without that part, or a
 * part past the hint (§6.2.6: the server only has to hold what it hinted).
 */
export function evaluatePartRequest(state: LiveWindowState | null, address: PartAddress): HintedPartDecision {
  if (state === null || state.ended || lowLatencyParameters(state) === null) return gone("the stream is not live with LL-HLS");
  const r = findRendition(state, address.rendition);
  if (r === undefined) return gone(`no rendition "${address.rendition}"`);
  const { epoch, msn, part } = address;
  if (committed(r, address)) return { kind: "ready" };
  if (epoch !== r.epoch) return gone("its publish epoch is not the live one");
  const wait: HintedPartDecision = { kind: "wait", timeoutMs: hintedPartTimeoutMs(state) };
  const closed = listedSegment(r, msn) ?? r.buffered.find((s) => s.msn === msn);
  if (closed !== undefined) {
    if (closed.gap || closed.epoch !== epoch || part >= closed.partCount) return gone(`segment ${msn} closed without part ${part}`);
    return wait;
  }
  const first = r.segments[0];
  if (first !== undefined && msn < first.msn) return gone(`segment ${msn} is out of the live window`);
  const current = inProgress(r);
  if (current === null) return gone("nothing is hinted yet");
  const hint = preloadHint(r, state.segmentTarget);
  if (hint !== null && hint.msn === msn && hint.part === part) return wait;
  if (msn === current.msn && part === current.parts.length) return wait;
  return gone(`part ${msn}.${part} is not the hinted part`);
}

/** How long a hinted part is waited for before a 503: three part targets (the playlist's PART-TARGET). */
export function hintedPartTimeoutMs(state: LiveWindowState): number {
  return 3 * (state.partTarget ?? state.targetDuration) * 1000;
}

/** True when the stream's object has committed this part (listed, buffered with its segment, or pending). */
function committed(r: RenditionState, { epoch, msn, part }: PartAddress): boolean {
  const segment = listedSegment(r, msn) ?? r.buffered.find((s) => s.msn === msn);
  if (segment !== undefined && !segment.gap && segment.epoch === epoch && segment.parts.some((p) => p.index === part)) return true;
  return r.pendingParts.some((p) => p.msn === msn && p.index === part && p.epoch === epoch);
}

function gone(detail: string): HintedPartDecision {
  return { kind: "gone", detail };
}
