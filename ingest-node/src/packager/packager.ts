// CmafPackager: turns FFmpeg's fragmented-MP4 byte stream into an init segment, LL-HLS parts and HLS segments.
import type { Box } from "./box-reader.ts";
import { BoxReader } from "./box-reader.ts";
import { PackagerError } from "./errors.ts";
import type { FragmentInfo } from "./fragment-parser.ts";
import { SAMPLE_IS_NON_SYNC, parseFragment } from "./fragment-parser.ts";
import type { InitInfo, TrackInfo } from "./init-parser.ts";
import { parseInit } from "./init-parser.ts";

export { PackagerError } from "./errors.ts";
export type { PackagerErrorCode } from "./errors.ts";
export type { InitInfo, TrackDefaults, TrackInfo } from "./init-parser.ts";

/** Options for {@link CmafPackager}. */
export interface CmafPackagerOptions {
  /** Target segment duration in seconds; a segment is cut at the first keyframe part at or after it. */
  segmentTarget: number;
  /** Largest box accepted, in bytes (default 256 MiB). */
  maxBoxSize?: number;
  /**
   * Longest a segment may grow, in seconds, while no keyframe comes to cut it at (default 3 x segmentTarget); past
   * it push() throws KEYFRAME_TIMEOUT.
   */
  maxSegmentDuration?: number;
  /** Most bytes an open segment may hold (default 64 MiB); past it push() throws SEGMENT_TOO_LARGE. */
  maxSegmentBytes?: number;
  /** Emit part events (default true). Without them (no LL-HLS), each segment is copied together once, from its
   *  fragments, instead of each part first and the segment from the parts. */
  parts?: boolean;
  /**
   * LL-HLS PART-TARGET in seconds. Given, consecutive fragments are joined into parts of at most this long (cut on
   * fragment boundaries, so feed it short fragments, e.g. one per frame); a part is emitted as soon as the next
   * frame could not fit. Without it, every fragment is a part.
   */
  partTarget?: number;
}

/** The init segment (everything up to and including moov) and what it declares. */
export interface InitEvent extends InitInfo {
  type: "init";
  bytes: Uint8Array;
}

/**
 * An LL-HLS part: one moof+mdat (with any styp/prft/sidx/emsg before it), or several in a row with `partTarget`.
 * Times are seconds of the timing track.
 */
export interface PartEvent {
  type: "part";
  bytes: Uint8Array;
  /** Index of the segment this part belongs to (0-based over the stream). */
  segmentIndex: number;
  /** Index of the part within its segment (0-based). */
  index: number;
  startTime: number;
  duration: number;
  /** True when the part's first sample of the timing track is a sync sample (always true for audio-only input). */
  independent: boolean;
}

/** A closed segment: the concatenation of its parts' bytes. */
export interface SegmentEvent {
  type: "segment";
  bytes: Uint8Array;
  /** Index of the segment (0-based over the stream); equals its parts' `segmentIndex`. */
  index: number;
  startTime: number;
  duration: number;
  partCount: number;
}

/** What the packager emits, in stream order: one init, then parts; a segment as soon as its end is known. */
export type PackagerEvent = InitEvent | PartEvent | SegmentEvent;

interface OpenSegment {
  index: number;
  startTicks: number;
  durationTicks: number;
  /** The segment's bytes so far: its parts', or its fragments' boxes when parts are not emitted. */
  chunks: Uint8Array[];
  bytes: number;
  partCount: number;
}

interface PendingFragment {
  boxes: Uint8Array[];
  info: FragmentInfo;
}

/** A part being joined from fragments (with `partTarget`). */
interface OpenPart {
  startTicks: number;
  durationTicks: number;
  chunks: Uint8Array[];
  /** Null until a fragment with a sample of the timing track joined. */
  independent: boolean | null;
}

/**
 * Push-based CMAF packager. Timing follows the first video track (the first audio track for audio-only input).
 * Boxes left after the last mdat (FFmpeg's mfra index, padding) are dropped: they describe the file, not the stream.
 */
export class CmafPackager {
  readonly #reader: BoxReader;
  readonly #segmentTarget: number;
  readonly #emitParts: boolean;
  readonly #maxSegmentDuration: number;
  readonly #maxSegmentBytes: number;
  readonly #partTarget: number | null;
  #part: OpenPart | null = null;
  #initBoxes: Uint8Array[] = [];
  #tracks: Map<number, TrackInfo> | null = null;
  #initInfo: InitInfo | null = null;
  #timing: TrackInfo | null = null;
  #audioOnly = false;
  #prefix: Uint8Array[] = [];
  #fragment: PendingFragment | null = null;
  #segment: OpenSegment | null = null;
  #nextSegmentIndex = 0;
  #nextTicks: number | null = null;
  #sampleTicks = 0;
  #failure: unknown = null;

  constructor(options: CmafPackagerOptions) {
    if (!(options.segmentTarget > 0)) throw new RangeError(`segmentTarget must be > 0, got ${options.segmentTarget}`);
    this.#segmentTarget = options.segmentTarget;
    this.#emitParts = options.parts ?? true;
    this.#maxSegmentDuration = options.maxSegmentDuration ?? 3 * options.segmentTarget;
    this.#maxSegmentBytes = options.maxSegmentBytes ?? 64 * 1024 * 1024;
    this.#partTarget = options.partTarget ?? null;
    if (this.#partTarget !== null && !(this.#partTarget > 0)) throw new RangeError(`partTarget must be > 0, got ${this.#partTarget}`);
    if (!(this.#maxSegmentDuration >= options.segmentTarget))
      throw new RangeError(`maxSegmentDuration must be >= segmentTarget, got ${this.#maxSegmentDuration}`);
    this.#reader = new BoxReader({ maxBoxSize: options.maxBoxSize });
  }

  /** The parsed init segment, once it has been seen. */
  get init(): InitInfo | null {
    return this.#initInfo;
  }

  /**
   * Consumes a chunk of the stream and returns the events it completes. When a chunk completes some events and
   * then proves malformed, those events are returned and the next call throws; after that, every call throws.
   */
  push(chunk: Uint8Array): PackagerEvent[] {
    if (this.#failure !== null) throw this.#failure;
    this.#reader.append(chunk);
    return this.#drain(() => []);
  }

  /** Marks the end of the stream: flushes the open segment; throws TRUNCATED on a partial box or missing init. */
  end(): PackagerEvent[] {
    if (this.#failure !== null) throw this.#failure;
    return this.#drain(() => {
      const events = this.#reader.end().flatMap((box) => this.#onBox(box));
      if (this.#tracks === null) throw new PackagerError("TRUNCATED", "stream ended before its moov (no init segment)");
      if (this.#fragment !== null) {
        throw new PackagerError("MOOF_WITHOUT_MDAT", "stream ended after a moof without its mdat");
      }
      this.#prefix = [];
      events.push(...this.#closeSegment());
      return events;
    });
  }

  #drain(finish: () => PackagerEvent[]): PackagerEvent[] {
    const events: PackagerEvent[] = [];
    try {
      for (let box = this.#reader.next(); box !== null; box = this.#reader.next()) events.push(...this.#onBox(box));
      events.push(...finish());
    } catch (error) {
      // Complete parts are not lost to a later malformed box: hand them over now, throw on the next call.
      this.#failure = error;
      if (events.length === 0) throw error;
    }
    return events;
  }

  #onBox(box: Box): PackagerEvent[] {
    if (this.#tracks === null) return this.#onInitBox(box);
    const where = `'${box.type}' at offset ${this.#reader.offset - box.size}`;
    switch (box.type) {
      case "moof":
        if (this.#fragment !== null) {
          throw new PackagerError("MOOF_WITHOUT_MDAT", `${where} follows a moof with no mdat`);
        }
        this.#fragment = { boxes: [...this.#prefix, box.bytes], info: parseFragment(box, this.#tracks) };
        this.#prefix = [];
        return [];
      case "mdat":
        return this.#onMdat(box, where);
      case "ftyp":
      case "moov":
        throw new PackagerError("DUPLICATE_INIT", `${where} arrived after the init segment`);
      default:
        // styp, prft, sidx, emsg, free...: they travel with the fragment they precede (or sit in).
        (this.#fragment?.boxes ?? this.#prefix).push(box.bytes);
        return [];
    }
  }

  #onInitBox(box: Box): PackagerEvent[] {
    if (box.type === "moof") {
      throw new PackagerError("MOOF_BEFORE_MOOV", "moof arrived before the moov: no init segment yet");
    }
    if (box.type === "mdat") {
      throw new PackagerError(
        "MDAT_WITHOUT_MOOF",
        "mdat arrived before the moov: input is not fragmented MP4 " + "(use -movflags frag_keyframe+empty_moov+default_base_moof)",
      );
    }
    this.#initBoxes.push(box.bytes);
    if (box.type !== "moov") return [];
    const info = parseInit(box);
    this.#tracks = new Map(info.tracks.map((track) => [track.id, track]));
    const video = info.tracks.find((track) => track.handler === "vide");
    this.#timing = video ?? info.tracks.find((track) => track.handler === "soun") ?? info.tracks[0]!;
    this.#audioOnly = video === undefined;
    this.#initInfo = info;
    const bytes = concat(this.#initBoxes);
    this.#initBoxes = [];
    return [{ type: "init", bytes, ...info }];
  }

  #onMdat(box: Box, where: string): PackagerEvent[] {
    const fragment = this.#fragment;
    if (fragment === null) throw new PackagerError("MDAT_WITHOUT_MOOF", `${where} has no moof before it`);
    this.#fragment = null;
    const chunks = [...fragment.boxes, box.bytes];
    const timing = this.#timing!;
    const run = fragment.info.tracks.find((track) => track.trackId === timing.id);
    const startTicks = run?.baseMediaDecodeTime ?? this.#nextTicks ?? 0;
    const durationTicks = run?.duration ?? 0;
    if (run !== undefined && run.sampleCount > 0) this.#sampleTicks = run.duration / run.sampleCount;
    this.#nextTicks = startTicks + durationTicks;
    const firstFlags = run?.firstSampleFlags ?? null;
    const independent = this.#audioOnly || (firstFlags !== null && (firstFlags & SAMPLE_IS_NON_SYNC) === 0);

    const events: PackagerEvent[] = [];
    const open = this.#segment;
    // Compared in ticks, with half a frame of slack, so float seconds never move a cut by a frame.
    const targetTicks = Math.round(this.#segmentTarget * timing.timescale);
    if (open !== null && independent && startTicks - open.startTicks + this.#sampleTicks / 2 >= targetTicks) {
      // Fragments with no sample of the timing track (audio between two frames) wait for the keyframe's part.
      const carried = this.#part !== null && this.#part.independent === null ? this.#part : null;
      if (carried !== null) this.#part = null;
      events.push(...this.#closeSegment());
      this.#part = carried;
    }
    let segment = this.#segment;
    if (segment !== null) this.#checkBounds(segment, startTicks + durationTicks, chunks, timing.timescale);
    if (segment === null) {
      segment = { index: this.#nextSegmentIndex++, startTicks, durationTicks: 0, chunks: [], bytes: 0, partCount: 0 };
      this.#segment = segment;
    }
    segment.bytes += chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    segment.durationTicks += durationTicks;
    if (!this.#emitParts) {
      segment.chunks.push(...chunks);
      segment.partCount += 1;
      return events;
    }
    const limitTicks = this.#partTarget === null ? null : Math.round(this.#partTarget * timing.timescale);
    let part = this.#part;
    // A part never outlasts PART-TARGET (RFC 8216bis §4.4.4.9): a fragment that would not fit starts the next one.
    if (part !== null && (limitTicks === null || part.durationTicks + durationTicks > limitTicks)) {
      events.push(this.#flushPart()!);
      part = null;
    }
    if (part === null) {
      part = { startTicks, durationTicks: 0, chunks: [], independent: null };
      this.#part = part;
    }
    part.chunks.push(...chunks);
    part.durationTicks += durationTicks;
    if (run !== undefined && run.sampleCount > 0) part.independent ??= independent;
    // Why not wait for the next fragment to see whether it fits: the part would reach players a frame later. A quarter
    // frame of slack: millisecond timestamps make frames 33 and 34 ms long at 30 fps, and a 34 ms guess would close
    // 0.2 s parts at 5 frames (0.167 s, under the 85 % floor); a guess that was short costs a frame of waiting.
    if (limitTicks === null || part.durationTicks + this.#sampleTicks > limitTicks + this.#sampleTicks / 4) {
      events.push(this.#flushPart()!);
    }
    return events;
  }

  /** Emits the part being joined, if any, as the open segment's next part. */
  #flushPart(): PartEvent | null {
    const part = this.#part;
    const segment = this.#segment;
    if (part === null || segment === null) return null;
    this.#part = null;
    const timescale = this.#timing!.timescale;
    const bytes = concat(part.chunks);
    segment.chunks.push(bytes);
    const index = segment.partCount;
    segment.partCount += 1;
    return {
      type: "part",
      bytes,
      segmentIndex: segment.index,
      index,
      startTime: part.startTicks / timescale,
      duration: part.durationTicks / timescale,
      independent: this.#audioOnly || part.independent === true,
    };
  }

  /**
   * Refuses to grow `segment` past its bounds. Why no forced cut: a segment that does not start with a keyframe
   * cannot be decoded on its own (the playlists declare EXT-X-INDEPENDENT-SEGMENTS, and a player that joins or
   * switches there shows garbage or stalls), so a publisher that stopped sending keyframes is reported, and the
   * pipeline encodes that rendition instead (its encoder forces keyframes).
   */
  #checkBounds(segment: OpenSegment, endTicks: number, chunks: Uint8Array[], timescale: number): void {
    const maxTicks = Math.round(this.#maxSegmentDuration * timescale);
    if (endTicks - segment.startTicks > maxTicks + this.#sampleTicks / 2) {
      throw new PackagerError(
        "KEYFRAME_TIMEOUT",
        `no keyframe for ${((endTicks - segment.startTicks) / timescale).toFixed(2)} s: a segment may last ${this.#maxSegmentDuration} s at most`,
      );
    }
    const bytes = segment.bytes + chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    if (bytes > this.#maxSegmentBytes) {
      throw new PackagerError("SEGMENT_TOO_LARGE", `segment ${segment.index} would hold ${bytes} bytes, more than ${this.#maxSegmentBytes}`);
    }
  }

  /** Closes the open segment: its last part (if one is being joined), then the segment. */
  #closeSegment(): PackagerEvent[] {
    const segment = this.#segment;
    if (segment === null) return [];
    const last = this.#flushPart();
    this.#segment = null;
    const timescale = this.#timing!.timescale;
    const closed: SegmentEvent = {
      type: "segment",
      bytes: concat(segment.chunks),
      index: segment.index,
      startTime: segment.startTicks / timescale,
      duration: segment.durationTicks / timescale,
      partCount: segment.partCount,
    };
    return last === null ? [closed] : [last, closed];
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  // Chunks back to back in one buffer (the native remuxer writes a GOP's fragments so) join as a view: no copy.
  const first = chunks[0]!;
  let end = first.byteOffset + first.byteLength;
  let adjacent = true;
  for (let i = 1; i < chunks.length && adjacent; i++) {
    const chunk = chunks[i]!;
    adjacent = chunk.buffer === first.buffer && chunk.byteOffset === end;
    end += chunk.byteLength;
  }
  if (adjacent) return new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset);
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
