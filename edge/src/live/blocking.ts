// LL-HLS delivery directives (_HLS_msn, _HLS_part, _HLS_skip): parsing, validation against the live
// window, and whether a blocked playlist request can be answered. "§" cites draft-pantos-hls-rfc8216bis.
import { lowLatencyParameters } from "./playlist.ts";
import { findRendition, inProgress, listedSegment } from "./window.ts";
import type { LiveWindowState, RenditionState } from "./window.ts";

/** The delivery directives of one playlist request. */
export interface DeliveryDirective {
  /** `_HLS_msn`: answer once the playlist holds this media sequence number (or a later one). */
  msn: number | null;
  /** `_HLS_part`: with `msn`, answer once the playlist holds this part of it (or a later one). */
  part: number | null;
  /** `_HLS_skip=YES|v2`: a Playlist Delta Update is wanted. */
  skip: boolean;
}

/** No directive: answer at once with the full playlist. */
export const NO_DIRECTIVE: DeliveryDirective = { msn: null, part: null, skip: false };

/** Syntax check of the directives alone. */
export type DirectiveParse = { kind: "ok"; directive: DeliveryDirective } | { kind: "bad-request"; detail: string };

/** What to do with a playlist request. `wait` ends in a 503 after `timeoutMs` (§6.2.5.2). */
export type BlockingDecision =
  | { kind: "ready"; skip: boolean }
  | { kind: "wait"; directive: DeliveryDirective; timeoutMs: number }
  | { kind: "bad-request"; detail: string }
  | { kind: "not-found"; detail: string };

/** Parses `_HLS_msn`, `_HLS_part` and `_HLS_skip` (decimal-integers; §6.2.5). */
export function parseDeliveryDirectives(params: URLSearchParams): DirectiveParse {
  const msn = integerParam(params, "_HLS_msn");
  if (typeof msn === "string") return { kind: "bad-request", detail: msn };
  const part = integerParam(params, "_HLS_part");
  if (typeof part === "string") return { kind: "bad-request", detail: part };
  // §6.2.5.2: _HLS_part without _HLS_msn MUST be answered with Bad Request.
  if (part !== null && msn === null) return { kind: "bad-request", detail: "_HLS_part requires _HLS_msn" };
  const skips = params.getAll("_HLS_skip");
  if (skips.length > 1) return { kind: "bad-request", detail: "_HLS_skip is given more than once" };
  const skip = skips[0];
  if (skip !== undefined && skip !== "YES" && skip !== "v2") return { kind: "bad-request", detail: "_HLS_skip must be YES or v2" };
  return { kind: "ok", directive: { msn, part, skip: skip !== undefined } };
}

/**
 * The directives in one canonical spelling (`_HLS_msn=5&_HLS_part=2&_HLS_skip=YES`, empty for none), so requests that
 * mean the same thing share one key and one held request upstream. §4.2 allows leading zeros in a decimal-integer
 * (`_HLS_msn=0005` is msn 5), so they are normalised rather than refused; `_HLS_skip=v2` is spelled YES because the
 * delta playlists rendered here are the same for both (no EXT-X-DATERANGE to skip).
 */
export function canonicalDirectives(directive: DeliveryDirective): string {
  const fields: string[] = [];
  if (directive.msn !== null) fields.push(`_HLS_msn=${directive.msn}`);
  if (directive.part !== null) fields.push(`_HLS_part=${directive.part}`);
  if (directive.skip) fields.push("_HLS_skip=YES");
  return fields.join("&");
}

/** The directives of `params` in canonical spelling, or null when they do not parse (the stream's object decides:
 *  a 400 while live, ignored once ended). */
export function canonicalDirectiveQuery(params: URLSearchParams): string | null {
  const parsed = parseDeliveryDirectives(params);
  return parsed.kind === "ok" ? canonicalDirectives(parsed.directive) : null;
}

/**
 * Decides a media playlist request. Directives are ignored, as if absent, for modes without LL-HLS (their
 * playlists advertise neither CAN-BLOCK-RELOAD nor CAN-SKIP-UNTIL, so §6.3.8 forbids clients to send them
 * and §6.2.5.1 makes the server ignore _HLS_skip) and once the playlist has EXT-X-ENDLIST (§6.2.5.1 and
 * §6.2.5.2: the server MUST ignore them). Otherwise a msn more than two past the last segment, or a part
 * more than the Advance Part Limit past the last part, is a Bad Request (§6.2.5.2).
 */
export function evaluatePlaylistRequest(state: LiveWindowState, rendition: string, params: URLSearchParams): BlockingDecision {
  const r = findRendition(state, rendition);
  if (r === undefined) return { kind: "not-found", detail: `no rendition "${rendition}"` };
  const ll = lowLatencyParameters(state);
  if (ll === null || state.ended) return { kind: "ready", skip: false };
  const parsed = parseDeliveryDirectives(params);
  if (parsed.kind === "bad-request") return parsed;
  const directive = parsed.directive;
  if (directive.msn === null) return { kind: "ready", skip: directive.skip };

  const last = lastSegmentMsn(r);
  if (last !== null && directive.msn > last + 2) {
    return { kind: "bad-request", detail: `_HLS_msn=${directive.msn} is more than 2 past the last segment (${last})` };
  }
  if (directive.part !== null && last !== null) {
    const ahead = partsAhead(state, r, last, directive.msn, directive.part);
    const limit = advancePartLimit(ll.partTarget);
    if (ahead > limit) {
      return { kind: "bad-request", detail: `_HLS_part=${directive.part} is ${ahead} parts past the last part (limit ${limit})` };
    }
  }
  if (isSatisfied(state, rendition, directive)) return { kind: "ready", skip: directive.skip };
  return { kind: "wait", directive, timeoutMs: blockingTimeoutMs(state) };
}

/**
 * True when the rendition's playlist now holds what the directive waits for (§6.2.5.2): segment `msn`
 * (or a later one) without `part`; with `part`, that part of `msn` or anything after it. A part index past
 * the last part of a completed segment means part 0 of the next segment. Ended streams satisfy everything.
 */
export function isSatisfied(state: LiveWindowState, rendition: string, directive: DeliveryDirective): boolean {
  const r = findRendition(state, rendition);
  if (r === undefined) return false;
  if (state.ended || directive.msn === null) return true;
  const last = lastSegmentMsn(r);
  let msn = directive.msn;
  let part = directive.part;
  for (;;) {
    if (last !== null && msn <= last) {
      if (part === null) return true;
      const segment = listedSegment(r, msn);
      // Out of the window (older), a gap, or uploaded without part counts: the request is behind us.
      if (segment === undefined || segment.gap || segment.partCount === 0 || part < segment.partCount) return true;
      msn += 1;
      part = 0;
      continue;
    }
    if (part === null) return false;
    const current = inProgress(r);
    if (current === null || current.msn !== msn) return false;
    return part < current.parts.length;
  }
}

/** How long a blocked request may wait before a 503: three target durations (§6.2.5.2). */
export function blockingTimeoutMs(state: LiveWindowState): number {
  return 3 * state.targetDuration * 1000;
}

/** The Advance Part Limit: 3 / PART-TARGET below one second, else 3 (§6.2.5.2). */
export function advancePartLimit(partTarget: number): number {
  return partTarget < 1 ? 3 / partTarget : 3;
}

function lastSegmentMsn(r: RenditionState): number | null {
  const last = r.segments.at(-1)?.msn;
  if (last !== undefined) return last;
  // Before the first segment, the segment in progress is the one after "the last".
  const current = inProgress(r);
  return current === null ? null : current.msn - 1;
}

/**
 * Parts from the last listed part to (msn, part). Segments not yet started count as many parts as a
 * target duration holds, since their real part counts are not known yet.
 */
function partsAhead(state: LiveWindowState, r: RenditionState, last: number, msn: number, part: number): number {
  const perSegment = Math.max(1, Math.ceil(state.targetDuration / (state.partTarget ?? state.targetDuration)));
  const current = inProgress(r);
  // Position of the last listed part, counting parts from the start of segment `last + 1`.
  const lastPart = current !== null && current.msn === last + 1 ? current.parts.length - 1 : -1;
  const requested = (msn - (last + 1)) * perSegment + part;
  return requested - lastPart;
}

function integerParam(params: URLSearchParams, name: string): number | null | string {
  const values = params.getAll(name);
  if (values.length === 0) return null;
  if (values.length > 1) return `${name} is given more than once`;
  const value = values[0] ?? "";
  // §4.2 decimal-integer: digits only, so no sign, fraction, exponent or spaces.
  if (!/^[0-9]{1,15}$/.test(value)) return `${name} must be a non-negative integer`;
  return Number(value);
}
