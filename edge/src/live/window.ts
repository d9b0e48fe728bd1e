// The live state of one stream: renditions, a sliding window of segments and parts per rendition,
// discontinuities and ENDLIST. Pure and plain data (JSON round-trips), so the same code runs in the
// LiveStream Durable Object, a future per-colo relay and unit tests. Functions mutate the state in place
// and report what changed and which stored objects dropped out (RFC 8216bis is cited as "§").
import type { InitMeta, PartMeta, SegmentMeta } from "../../../protocol/ingest.ts";
import { DEFAULT_TIMING } from "../../../protocol/latency.ts";
import type { LatencyMode, MediaTiming } from "../../../protocol/latency.ts";

/**
 * Completed segments kept per rendition. Standard: 6 x 6 s = 36 s, twice HOLD-BACK (3 x 6 s) so a
 * player joining at HOLD-BACK still has segments behind it. Low/interactive: 15 x 2 s = 30 s, which
 * leaves 18 s for a delta update to skip past CAN-SKIP-UNTIL (6 x 2 s). Never below 3 target
 * durations either way (§6.2.2).
 */
export const DEFAULT_WINDOW_SEGMENTS: Record<LatencyMode, number> = { standard: 6, low: 15, interactive: 15 };

/** Completed segments that keep their EXT-X-PART tags: with the segment in progress (< 1 target
 * duration) no listed part is more than 3 target durations from the end (§6.2.2). */
export const PART_SEGMENTS = 2;

/** A part may name at most this many segments past the next expected one (bounds memory). */
const MAX_PARTS_AHEAD_SEGMENTS = 2;

/** Target durations of later segments to wait for a missing one before listing it as a GAP. */
const GAP_WAIT_TARGET_DURATIONS = 2;

/** One rendition's encoding, as its latest init segment describes it. */
export interface RenditionInfo {
  name: string;
  codecs: string;
  width: number;
  height: number;
  /** Declared peak bandwidth, bits per second. */
  bandwidth: number;
  frameRate: number;
  /** Publish epoch of the current init segment: its media sit under `<rendition>/<epoch>/` (storage/media.ts). */
  epoch: number;
}

/** A partial segment (CMAF chunk) of a segment. */
export interface LivePart {
  index: number;
  duration: number;
  independent: boolean;
}

/** A part whose segment is not listed yet. */
export interface PendingPart extends LivePart {
  msn: number;
  epoch: number;
}

/** A completed segment (or a GAP placeholder for one that never arrived). */
export interface LiveSegment {
  msn: number;
  duration: number;
  /** Capture time of the first frame (ISO-8601), null for a gap. */
  programDateTime: string | null;
  epoch: number;
  /** EXT-X-DISCONTINUITY precedes this segment. */
  discontinuity: boolean;
  /** EXT-X-GAP: no media object exists for this msn. */
  gap: boolean;
  /** Parts the segment was uploaded as (0 without LL-HLS). */
  partCount: number;
  /** Parts received so far, by index. */
  parts: LivePart[];
  /** Size in bytes when the caller knows it (feeds measured bandwidth). */
  bytes: number | null;
}

/** The live state of one rendition. */
export interface RenditionState extends RenditionInfo {
  /** Listed segments, consecutive msns, oldest first. */
  segments: LiveSegment[];
  /** Segments that arrived ahead of a missing msn, waiting to be listed. */
  buffered: LiveSegment[];
  /** Parts of msns after the last listed segment, sorted by (msn, index). */
  pendingParts: PendingPart[];
  /** The msn the next listed segment must carry; null before the first one. */
  nextMsn: number | null;
  /** Msns below this never arrive (a publish started here): list them as gaps without waiting. */
  gapFillBelow: number | null;
  /** Epoch of the last listed segment (kept after it slides out, to place discontinuities). */
  lastEpoch: number | null;
  /** EXT-X-DISCONTINUITY-SEQUENCE: discontinuities that slid out of the window (§6.2.2). */
  discontinuitySequence: number;
  /** GAP segments listed so far (absent in states saved before it was counted). */
  gaps?: number;
}

/**
 * Segment encryption of a broadcast (HLS METHOD=AES-128, RFC 8216bis §4.4.4.4): content key k covers msns
 * [k*rotateEvery, (k+1)*rotateEvery) and is served at `{keyUriPrefix}{k}.key`. The keys themselves never live here.
 */
export interface WindowEncryption {
  method: "AES-128";
  /** The broadcast session whose seed the keys derive from. */
  sessionId: string;
  /** Segments per content key. */
  rotateEvery: number;
  /** Absolute path of the session's key files, ending in `/`. */
  keyUriPrefix: string;
}

/** The live state of one stream. */
export interface LiveWindowState {
  format: 1;
  mode: LatencyMode;
  segmentTarget: number;
  /** PART-TARGET as advertised: the configured part target, raised to the longest part seen. */
  partTarget: number | null;
  /** EXT-X-TARGETDURATION: only grows, since §6.2.1 forbids changing it. */
  targetDuration: number;
  windowSegments: number;
  renditions: RenditionState[];
  ended: boolean;
  /** Encryption of the broadcast's media, null (or absent, in states saved before it existed) when clear. */
  encryption?: WindowEncryption | null;
  /** Renditions a transcoding pool makes (late ones turn into GAPs, see markLateRungs); absent without a pool. */
  pool?: { renditions: string[]; lateAfterSegments: number } | null;
  /** DVR: how many of the broadcast's latest segments the media playlists list (dvr-history.ts); absent or 0: off. */
  dvrSegments?: number;
  /** The node's renditions still without an init at the broadcast's start (its first init's `ladder`); absent: none. */
  awaitedRenditions?: string[] | null;
}

/** A stored object that dropped out of the live window. Delete it no sooner than the window's
 * duration later (§6.2.2: removed segments and parts stay available for a while). */
export type MediaRef =
  | { rendition: string; kind: "init"; epoch: number }
  | { rendition: string; kind: "segment"; msn: number }
  | { rendition: string; kind: "part"; msn: number; part: number };

/** What became of an upload's metadata. Only `added` and `buffered` mean the object is kept. */
export type ApplyOutcome =
  | "added"
  | "buffered"
  | "duplicate"
  | "stale"
  | "stale-epoch"
  | "unknown-epoch"
  | "unknown-rendition"
  | "too-far"
  | "not-ll"
  | "ended";

/** The result of a mutation: whether rendered playlists may differ, and what slid out. */
export interface ApplyResult {
  outcome: ApplyOutcome;
  changed: boolean;
  evicted: MediaRef[];
}

/** Options for a new live window; timing defaults to the mode's. */
export interface LiveWindowOptions {
  mode: LatencyMode;
  timing?: MediaTiming;
  windowSegments?: number;
  encryption?: WindowEncryption | null;
  dvrSegments?: number;
}

/** A new, empty live window. */
export function createLiveWindow(options: LiveWindowOptions): LiveWindowState {
  const timing = options.timing ?? DEFAULT_TIMING[options.mode];
  const windowSegments = options.windowSegments ?? DEFAULT_WINDOW_SEGMENTS[options.mode];
  if (!Number.isInteger(windowSegments) || windowSegments < 1) throw new RangeError("windowSegments must be >= 1");
  if (!(timing.segmentTarget > 0)) throw new RangeError("segmentTarget must be > 0");
  const encryption = options.encryption ?? null;
  if (encryption !== null && (!Number.isInteger(encryption.rotateEvery) || encryption.rotateEvery < 1)) throw new RangeError("rotateEvery must be >= 1");
  const partTarget = options.mode === "interactive" ? (timing.partTarget ?? DEFAULT_TIMING.interactive.partTarget) : null;
  return {
    format: 1,
    mode: options.mode,
    segmentTarget: timing.segmentTarget,
    partTarget,
    targetDuration: Math.max(1, Math.round(timing.segmentTarget)),
    windowSegments,
    renditions: [],
    ended: false,
    encryption,
    ...(options.dvrSegments ? { dvrSegments: options.dvrSegments } : {}),
  };
}

/** Complete segments after which the multivariant playlist lists what it has even if a declared init never came. */
export const AWAITED_INIT_MAX_SEGMENTS = 3;

/**
 * Whether the multivariant playlist may be answered: some rendition has its init, and every rendition the node's
 * first run declared has one too (or the stream ended, or one rendition has AWAITED_INIT_MAX_SEGMENTS segments
 * already, so that a rung that never starts does not keep the others from playing).
 */
export function multivariantReady(state: LiveWindowState): boolean {
  if (state.renditions.length === 0) return false;
  if (!state.awaitedRenditions?.length || state.ended) return true;
  return state.renditions.some((r) => r.segments.length >= AWAITED_INIT_MAX_SEGMENTS);
}

/** The rendition called `name`, if any. */
export function findRendition(state: LiveWindowState, name: string): RenditionState | undefined {
  return state.renditions.find((r) => r.name === name);
}

/**
 * Records an init segment. A new rendition starts its window; a newer epoch on a known rendition
 * lists what the old epoch left buffered, drops its unfinished parts and makes the next segment start
 * with EXT-X-DISCONTINUITY and a new EXT-X-MAP. `firstMsn` (the publish's first msn) lets msns below it
 * be listed as gaps at once instead of waited for.
 */
export function addInit(state: LiveWindowState, rendition: string, meta: InitMeta, options: { firstMsn?: number } = {}): ApplyResult {
  if (state.ended) return result("ended", false);
  const info = { codecs: meta.codecs, width: meta.width, height: meta.height, bandwidth: meta.bandwidth, frameRate: meta.frame_rate };
  const r = findRendition(state, rendition);
  if (r === undefined) {
    // Only the broadcast's first run is waited for: a later run's new rung joins a stream players already know.
    if (state.renditions.length === 0 && meta.ladder) state.awaitedRenditions = meta.ladder;
    if (state.awaitedRenditions) {
      const awaited = state.awaitedRenditions.filter((name) => name !== rendition);
      state.awaitedRenditions = awaited.length > 0 ? awaited : null;
    }
    state.renditions.push({
      name: rendition,
      ...info,
      epoch: meta.epoch,
      segments: [],
      buffered: [],
      pendingParts: [],
      nextMsn: options.firstMsn ?? null,
      gapFillBelow: null,
      lastEpoch: null,
      discontinuitySequence: 0,
    });
    return result("added", true);
  }
  if (meta.epoch < r.epoch) return result("stale-epoch", false);
  if (meta.epoch === r.epoch) {
    const same =
      r.codecs === info.codecs && r.width === info.width && r.height === info.height && r.bandwidth === info.bandwidth && r.frameRate === info.frameRate;
    Object.assign(r, info);
    return result(same ? "duplicate" : "added", !same);
  }
  const evicted: MediaRef[] = [];
  flushBuffered(state, r, evicted);
  for (const p of r.pendingParts) evicted.push({ rendition: r.name, kind: "part", msn: p.msn, part: p.index });
  r.pendingParts = [];
  const oldEpoch = r.epoch;
  Object.assign(r, info, { epoch: meta.epoch });
  if (!r.segments.some((s) => s.epoch === oldEpoch)) evicted.push({ rendition: r.name, kind: "init", epoch: oldEpoch });
  const first = options.firstMsn;
  if (first !== undefined) {
    if (r.nextMsn === null) r.nextMsn = first;
    else if (first > r.nextMsn) r.gapFillBelow = first;
  }
  return result("added", true, evicted);
}

/**
 * A pool-made rung's segment is late once it is more than `lateAfterSegments` behind the renditions the node uploads
 * itself (they listed that many segments and one more after it): it is listed as EXT-X-GAP (§4.4.4.7, a player switches rungs instead of stalling) and counted, and
 * its upload, should it come, is then stale. Called after each of the node's own segments is listed.
 */
export function markLateRungs(state: LiveWindowState): ApplyResult {
  const pool = state.pool;
  if (!pool || state.ended) return result("duplicate", false);
  let reference: number | null = null;
  for (const r of state.renditions) {
    const last = r.segments.at(-1);
    if (!pool.renditions.includes(r.name) && last !== undefined) reference = Math.max(reference ?? last.msn, last.msn);
  }
  if (reference === null) return result("duplicate", false);
  const evicted: MediaRef[] = [];
  let changed = false;
  for (const r of state.renditions) {
    if (!pool.renditions.includes(r.name)) continue;
    for (;;) {
      drain(state, r, evicted);
      if (r.nextMsn === null || reference - r.nextMsn <= pool.lateAfterSegments) break;
      fillGaps(state, r, r.nextMsn + 1, evicted);
      changed = true;
    }
  }
  return result(changed ? "added" : "duplicate", changed, evicted);
}

/** Records a part (LL-HLS only). Parts of a later segment wait until the earlier one is listed. */
export function addPart(state: LiveWindowState, rendition: string, meta: PartMeta): ApplyResult {
  const r = findRendition(state, rendition);
  const rejected = checkUpload(state, r, meta.epoch);
  if (rejected !== null) return result(rejected, false);
  if (r === undefined || state.partTarget === null) return result("not-ll", false);
  const part: LivePart = { index: meta.part, duration: meta.duration, independent: meta.independent };
  const last = r.segments.at(-1);
  const evicted: MediaRef[] = [];
  if (last !== undefined && meta.msn <= last.msn) {
    const seg = listedSegment(r, meta.msn);
    if (seg === undefined || seg.gap) return result("stale", false);
    if (seg.parts.some((p) => p.index === meta.part)) return result("duplicate", false);
    const before = partsComplete(seg);
    insertPart(seg.parts, part);
    growPartTarget(state, meta.duration);
    return result("added", partsComplete(seg) !== before);
  }
  const buffered = r.buffered.find((s) => s.msn === meta.msn);
  if (buffered !== undefined) {
    if (buffered.parts.some((p) => p.index === meta.part)) return result("duplicate", false);
    insertPart(buffered.parts, part);
    growPartTarget(state, meta.duration);
    return result("added", false);
  }
  const expected = expectedMsn(r);
  if (expected !== null && meta.msn > expected + MAX_PARTS_AHEAD_SEGMENTS) return result("too-far", false);
  if (r.pendingParts.some((p) => p.msn === meta.msn && p.index === meta.part)) return result("duplicate", false);
  const before = listedPartKey(r);
  const at = r.pendingParts.findIndex((p) => p.msn > meta.msn || (p.msn === meta.msn && p.index > meta.part));
  r.pendingParts.splice(at === -1 ? r.pendingParts.length : at, 0, { ...part, msn: meta.msn, epoch: meta.epoch });
  growPartTarget(state, meta.duration);
  if (r.gapFillBelow !== null && meta.msn >= r.gapFillBelow) {
    fillGaps(state, r, r.gapFillBelow, evicted);
    drain(state, r, evicted);
  }
  return result("added", listedPartKey(r) !== before || evicted.length > 0, evicted);
}

/**
 * Records a completed segment. It takes over the parts already received for its msn (late parts still
 * attach to it). The same msn twice and msns older than the window are ignored; a msn ahead of a missing
 * one is buffered until the gap fills, or listed after a GAP once later segments have waited too long.
 */
export function addSegment(state: LiveWindowState, rendition: string, meta: SegmentMeta, options: { bytes?: number } = {}): ApplyResult {
  const r = findRendition(state, rendition);
  const rejected = checkUpload(state, r, meta.epoch);
  if (rejected !== null || r === undefined) return result(rejected ?? "unknown-rendition", false);
  const first = r.segments[0];
  const listed = listedSegment(r, meta.msn);
  if (listed !== undefined) return result(listed.gap ? "stale" : "duplicate", false);
  if ((first !== undefined && meta.msn < first.msn) || (r.nextMsn !== null && meta.msn < r.nextMsn)) return result("stale", false);
  if (r.buffered.some((s) => s.msn === meta.msn)) return result("duplicate", false);
  const expected = expectedMsn(r);
  if (expected !== null && meta.msn > expected + state.windowSegments) return result("too-far", false);
  const segment: LiveSegment = {
    msn: meta.msn,
    duration: meta.duration,
    programDateTime: meta.program_date_time,
    epoch: meta.epoch,
    discontinuity: false,
    gap: false,
    partCount: meta.parts,
    parts: [],
    bytes: options.bytes ?? null,
  };
  const at = r.buffered.findIndex((s) => s.msn > meta.msn);
  r.buffered.splice(at === -1 ? r.buffered.length : at, 0, segment);
  const evicted: MediaRef[] = [];
  const before = r.segments.at(-1)?.msn;
  drain(state, r, evicted);
  const isListed = r.buffered.every((s) => s.msn !== meta.msn);
  return result(isListed ? "added" : "buffered", r.segments.at(-1)?.msn !== before, evicted);
}

/**
 * addSegment, then markLateRungs: a segment of a rendition the node makes may put a pool-made rung's missing one far
 * enough behind to be listed as a GAP. One result: the segment's outcome, changed and evicted by either.
 */
export function addSegmentMarkingLate(state: LiveWindowState, rendition: string, meta: SegmentMeta, options: { bytes?: number } = {}): ApplyResult {
  const added = addSegment(state, rendition, meta, options);
  const late = markLateRungs(state);
  return { ...added, changed: added.changed || late.changed, evicted: [...added.evicted, ...late.evicted] };
}

/** Ends the broadcast (EXT-X-ENDLIST): lists what is buffered, drops parts of an unfinished segment. */
export function end(state: LiveWindowState): ApplyResult {
  if (state.ended) return result("duplicate", false);
  const evicted: MediaRef[] = [];
  for (const r of state.renditions) {
    flushBuffered(state, r, evicted);
    for (const p of r.pendingParts) evicted.push({ rendition: r.name, kind: "part", msn: p.msn, part: p.index });
    r.pendingParts = [];
  }
  state.ended = true;
  return result("added", true, evicted);
}

/** True when a listed segment carries its complete set of parts 0..partCount-1. */
export function partsComplete(segment: LiveSegment): boolean {
  return segment.partCount > 0 && segment.parts.length === segment.partCount && segment.parts.every((p, i) => p.index === i);
}

/** The segment being built at the live edge and its parts a playlist can list (contiguous from 0). */
export function inProgress(r: RenditionState): { msn: number; epoch: number; parts: PendingPart[] } | null {
  const msn = r.nextMsn ?? r.pendingParts[0]?.msn;
  if (msn === undefined) return null;
  const parts: PendingPart[] = [];
  for (const p of r.pendingParts) {
    if (p.msn !== msn || p.index !== parts.length) continue;
    parts.push(p);
  }
  return { msn, epoch: parts[0]?.epoch ?? r.epoch, parts };
}

/**
 * The part EXT-X-PRELOAD-HINT names (§4.4.5.3): the next part of the segment in progress, or part 0 of the next segment
 * once parts of a later one arrived (this one is over) or its parts already fill `segmentTarget` (within half a frame:
 * the node closes a segment at the first keyframe from the target on, and keyframes come on the target's grid), so a
 * player that loads the hinted part early (Shaka, Apple's) is not sent for a part that never comes (a 404 at the
 * close); null before anything is in progress.
 */
export function preloadHint(r: RenditionState, segmentTarget: number): { msn: number; part: number } | null {
  const current = inProgress(r);
  if (current === null) return null;
  const moved = r.pendingParts.some((p) => p.msn > current.msn);
  const halfFrame = r.frameRate > 0 ? 0.5 / r.frameRate : 0;
  const filled = current.parts.length > 0 && current.parts.reduce((sum, p) => sum + p.duration, 0) >= segmentTarget - halfFrame;
  return moved || filled ? { msn: current.msn + 1, part: 0 } : { msn: current.msn, part: current.parts.length };
}

/** The last msn and part index a playlist of this rendition lists (LAST-MSN/LAST-PART, §4.4.5.4). */
export function liveEdge(r: RenditionState): { msn: number; part: number | null } | null {
  const current = inProgress(r);
  const last = current?.parts.at(-1);
  if (current !== null && last !== undefined) return { msn: current.msn, part: last.index };
  const seg = r.segments.at(-1);
  if (seg === undefined) return null;
  return { msn: seg.msn, part: partsComplete(seg) ? seg.partCount - 1 : null };
}

/** The listed segment with this msn, if it is in the window. */
export function listedSegment(r: RenditionState, msn: number): LiveSegment | undefined {
  const first = r.segments[0];
  return first === undefined ? undefined : r.segments[msn - first.msn];
}

function result(outcome: ApplyOutcome, changed: boolean, evicted: MediaRef[] = []): ApplyResult {
  return { outcome, changed: changed || evicted.length > 0, evicted };
}

function checkUpload(state: LiveWindowState, r: RenditionState | undefined, epoch: number): ApplyOutcome | null {
  if (state.ended) return "ended";
  if (r === undefined) return "unknown-rendition";
  if (epoch < r.epoch) return "stale-epoch";
  // A newer epoch's init has not arrived, so EXT-X-MAP could not name it yet.
  if (epoch > r.epoch) return "unknown-epoch";
  return null;
}

/** The msn uploads should be reaching next (past msns a new publish skipped). */
function expectedMsn(r: RenditionState): number | null {
  if (r.nextMsn === null) return null;
  return Math.max(r.nextMsn, r.gapFillBelow ?? r.nextMsn);
}

function insertPart(parts: LivePart[], part: LivePart): void {
  const at = parts.findIndex((p) => p.index > part.index);
  parts.splice(at === -1 ? parts.length : at, 0, part);
}

function growPartTarget(state: LiveWindowState, duration: number): void {
  // §4.4.4.9: a part's duration MUST NOT exceed PART-TARGET.
  if (state.partTarget !== null && duration > state.partTarget) state.partTarget = duration;
}

function listedPartKey(r: RenditionState): string {
  const current = inProgress(r);
  return current === null ? "" : `${current.msn}.${current.parts.length}`;
}

/** Lists buffered segments in msn order, filling holes with gaps when they cannot be waited for. */
function drain(state: LiveWindowState, r: RenditionState, evicted: MediaRef[], force = false): void {
  for (;;) {
    const head = r.buffered[0];
    if (head === undefined) return;
    if (r.nextMsn === null || head.msn === r.nextMsn) {
      r.buffered.shift();
      append(state, r, head, evicted);
      continue;
    }
    const waited = r.buffered.reduce((sum, s) => sum + s.duration, 0);
    if (force || waited >= GAP_WAIT_TARGET_DURATIONS * state.targetDuration) {
      fillGaps(state, r, head.msn, evicted);
    } else if (r.gapFillBelow !== null && r.nextMsn < r.gapFillBelow) {
      fillGaps(state, r, Math.min(head.msn, r.gapFillBelow), evicted);
    } else {
      return;
    }
  }
}

function flushBuffered(state: LiveWindowState, r: RenditionState, evicted: MediaRef[]): void {
  drain(state, r, evicted, true);
}

/** Lists GAP segments for every msn from nextMsn up to (not including) `below`. */
function fillGaps(state: LiveWindowState, r: RenditionState, below: number, evicted: MediaRef[]): void {
  while (r.nextMsn !== null && r.nextMsn < below) {
    r.gaps = (r.gaps ?? 0) + 1;
    append(
      state,
      r,
      {
        msn: r.nextMsn,
        duration: state.segmentTarget,
        programDateTime: null,
        epoch: r.lastEpoch ?? r.epoch,
        discontinuity: false,
        gap: true,
        partCount: 0,
        parts: [],
        bytes: null,
      },
      evicted,
    );
  }
  if (r.gapFillBelow !== null && r.nextMsn !== null && r.nextMsn >= r.gapFillBelow) r.gapFillBelow = null;
}

function append(state: LiveWindowState, r: RenditionState, segment: LiveSegment, evicted: MediaRef[]): void {
  segment.discontinuity = r.lastEpoch !== null && segment.epoch !== r.lastEpoch;
  const kept: PendingPart[] = [];
  for (const p of r.pendingParts) {
    if (p.msn === segment.msn && !segment.gap && !segment.parts.some((q) => q.index === p.index)) {
      insertPart(segment.parts, { index: p.index, duration: p.duration, independent: p.independent });
    } else if (p.msn <= segment.msn) {
      evicted.push({ rendition: r.name, kind: "part", msn: p.msn, part: p.index });
    } else {
      kept.push(p);
    }
  }
  r.pendingParts = kept;
  r.segments.push(segment);
  r.nextMsn = segment.msn + 1;
  r.lastEpoch = segment.epoch;
  if (!segment.gap) state.targetDuration = Math.max(state.targetDuration, Math.round(segment.duration));
  slide(state, r, evicted);
}

/** Drops the oldest segments beyond the window size, never below 3 target durations (§6.2.2). */
function slide(state: LiveWindowState, r: RenditionState, evicted: MediaRef[]): void {
  let total = r.segments.reduce((sum, s) => sum + s.duration, 0);
  while (r.segments.length > state.windowSegments) {
    const oldest = r.segments[0];
    if (oldest === undefined || total - oldest.duration < 3 * state.targetDuration) return;
    r.segments.shift();
    total -= oldest.duration;
    // §6.2.2: removing a segment that carries EXT-X-DISCONTINUITY increments the sequence.
    if (oldest.discontinuity) r.discontinuitySequence += 1;
    if (!oldest.gap) evicted.push({ rendition: r.name, kind: "segment", msn: oldest.msn });
    for (const p of oldest.parts) evicted.push({ rendition: r.name, kind: "part", msn: oldest.msn, part: p.index });
    const stillUsed = oldest.epoch === r.epoch || r.segments.some((s) => s.epoch === oldest.epoch) || r.buffered.some((s) => s.epoch === oldest.epoch);
    if (!stillUsed) evicted.push({ rendition: r.name, kind: "init", epoch: oldest.epoch });
  }
}
