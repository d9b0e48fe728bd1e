// FlvRemuxer: turns a publisher's FLV (H.264 + AAC) into CMAF (one init, then moof+mdat fragments) without decoding.
import { type AacConfig, parseAacConfig } from "./aac-config.ts";
import { type AvcConfig, parseAvcConfig } from "./avc-config.ts";
import { VIDEO_TIMESCALE, writeInit } from "./cmaf-init.ts";
import { type Sample, writeFragment } from "./cmaf-fragment.ts";
import { RemuxError } from "./errors.ts";
import { type FlvTag, FlvReader } from "./flv-reader.ts";
import { FragmentArena } from "./fragment-arena.ts";

export { RemuxError } from "./errors.ts";
export type { RemuxErrorCode } from "./errors.ts";

/** Options of an FlvRemuxer. */
export interface FlvRemuxerOptions {
  /**
   * Seconds of video per fragment; a fragment also starts at every keyframe (as FFmpeg's frag_keyframe), and a
   * keyframe is written as a fragment of its own as soon as its duration is known (the window stays the same).
   */
  fragmentDuration: number;
  /** Largest FLV tag accepted, in bytes (default 16 MiB). */
  maxTagBytes?: number;
  /** Told of every video keyframe (its FLV tag), e.g. to decode it for a thumbnail. */
  onKeyframe?: (tag: FlvTag) => void;
  /**
   * Handed each sample's bytes (a view of the input pushed) once they are copied into their fragment: the remuxer holds
   * no view of them from then on, so the input's buffer may be reused (flv-tag-pool.ts). Not called for input it dropped.
   */
  onWritten?: (bytes: Uint8Array) => void;
}

const FLV_AUDIO = 8;
const FLV_VIDEO = 9;
const FLV_CODEC_AVC = 7;
const FLV_SOUND_AAC = 10;
const AAC_FRAME_SAMPLES = 1024;
/** Ticks a frame lasts when the stream ends before a second frame told (30 fps). */
const DEFAULT_FRAME_TICKS = VIDEO_TIMESCALE / 30;

/**
 * Push remuxer: FLV bytes in (any slicing), fMP4 bytes out. Output time 0 is the timestamp of the first audio or video
 * tag, as for FFmpeg reading the same feed, so capture times map the same way; audio and video keep the publisher's
 * relative timing exactly (FLV milliseconds to 90 kHz video ticks; audio in 1024-sample frames at its own rate,
 * re-anchored to the tag timestamps only across a gap of more than a frame). Video before the first keyframe and
 * audio before time 0 are dropped. The init is written at the first fragment, with an audio track when an AAC
 * configuration arrived by then.
 */
export class FlvRemuxer {
  readonly #reader: FlvReader;
  readonly #fragmentTicks: number;
  readonly #onKeyframe: ((tag: FlvTag) => void) | undefined;
  readonly #onWritten: ((bytes: Uint8Array) => void) | undefined;
  #video: AvcConfig | null = null;
  #audio: AacConfig | null = null;
  #initWritten = false;
  #audioInInit = false;
  #originMs: number | null = null;
  /** The newest video sample, waiting for the next one to know its duration. */
  #held: Sample | null = null;
  #lastVideoDts = -1;
  #lastVideoDuration = DEFAULT_FRAME_TICKS;
  #videoRun: Sample[] = [];
  /** Decode time where the current fragment window began (a lone keyframe's fragment does not end the window). */
  #windowStart: number | null = null;
  #audioQueue: Sample[] = [];
  #nextAudioDts: number | null = null;
  #sequence = 1;
  /** Where fragments are written: a GOP's back to back, so the packager joins its segment without a copy. */
  readonly #arena = new FragmentArena();
  #ended = false;
  #videoFrames = 0;

  constructor(options: FlvRemuxerOptions) {
    if (!(options.fragmentDuration > 0)) throw new RangeError(`fragmentDuration must be > 0, got ${options.fragmentDuration}`);
    this.#fragmentTicks = Math.round(options.fragmentDuration * VIDEO_TIMESCALE);
    this.#reader = new FlvReader(options.maxTagBytes);
    this.#onKeyframe = options.onKeyframe;
    this.#onWritten = options.onWritten;
  }

  /** Video frames taken so far. */
  get videoFrames(): number {
    return this.#videoFrames;
  }

  /** Output media time reached by video, in seconds. */
  get videoTime(): number {
    return Math.max(0, this.#lastVideoDts) / VIDEO_TIMESCALE;
  }

  /** The AVC sequence header in use (avcC body), null before one arrived. */
  get avcC(): Uint8Array | null {
    return this.#video?.avcC ?? null;
  }

  /** Bytes held for a tag not yet complete plus samples not yet written. */
  get heldBytes(): number {
    const held = (samples: readonly Sample[]) => samples.reduce((sum, s) => sum + s.data.byteLength, 0);
    return this.#reader.pendingBytes + held(this.#videoRun) + held(this.#audioQueue) + (this.#held?.data.byteLength ?? 0);
  }

  /** Consumes FLV bytes; returns the output bytes they completed (the init first, then whole fragments). */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#ended) throw new RemuxError("PUSH_AFTER_END", "push() after end()");
    const out: Uint8Array[] = [];
    for (const tag of this.#reader.push(chunk)) this.#onTag(tag, out);
    return out;
  }

  /** The input ended: writes what is held (the last frame lasts as long as the one before it). */
  end(): Uint8Array[] {
    if (this.#ended) return [];
    this.#ended = true;
    const out: Uint8Array[] = [];
    if (this.#held) {
      this.#held.duration = this.#lastVideoDuration;
      this.#videoRun.push(this.#held);
      this.#held = null;
    }
    this.#flush(Number.POSITIVE_INFINITY, out);
    return out;
  }

  #onTag(tag: FlvTag, out: Uint8Array[]): void {
    if (tag.type !== FLV_AUDIO && tag.type !== FLV_VIDEO) return;
    if (tag.payload.byteLength < 2) return;
    this.#originMs ??= tag.timestampMs;
    if (tag.type === FLV_VIDEO) this.#onVideo(tag, out);
    else this.#onAudio(tag);
  }

  #onVideo(tag: FlvTag, out: Uint8Array[]): void {
    const p = tag.payload;
    const frameType = p[0]! >> 4;
    const codec = p[0]! & 0x0f;
    if (p[0]! & 0x80 || codec !== FLV_CODEC_AVC) {
      throw new RemuxError("UNSUPPORTED_CODEC", `FLV video codec ${p[0]! & 0x80 ? "(enhanced RTMP)" : codec} is not H.264`);
    }
    if (frameType === 5 || p.byteLength < 5) return; // video info/command frame
    const packetType = p[1]!;
    if (packetType === 0) {
      this.#onAvcConfig(p.subarray(5));
      return;
    }
    if (packetType !== 1) return; // end of sequence
    const sync = frameType === 1;
    if (this.#video === null || (this.#held === null && this.#videoRun.length === 0 && this.#lastVideoDts < 0 && !sync)) return;
    if (sync) this.#onKeyframe?.(tag);
    // Composition time: signed 24-bit milliseconds.
    const cts = (((p[2]! << 16) | (p[3]! << 8) | p[4]!) << 8) >> 8;
    const wanted = (tag.timestampMs - this.#originMs!) * (VIDEO_TIMESCALE / 1000);
    // Why forced forward: a publisher's timestamps can stall or step back; decode times must grow.
    const dts = Math.max(this.#lastVideoDts + 1, wanted, 0);
    const sample: Sample = { data: p.subarray(5), decodeTime: dts, duration: 0, compositionOffset: cts * (VIDEO_TIMESCALE / 1000), sync };
    this.#lastVideoDts = dts;
    this.#videoFrames += 1;
    const held = this.#held;
    this.#held = sample;
    if (held === null) return;
    held.duration = dts - held.decodeTime;
    this.#lastVideoDuration = held.duration;
    this.#videoRun.push(held);
    this.#windowStart ??= held.decodeTime;
    // A fragment ends before a keyframe, or once its window holds the fragment duration (less half a frame of slack).
    const windowFull = sync || dts - this.#windowStart >= this.#fragmentTicks - held.duration / 2;
    // Why a keyframe goes out alone, a frame after it came: the packager closes a segment when it sees the next one's
    // first fragment, so the segment before it is listed now instead of a whole fragment duration later. The window
    // goes on, so LL-HLS parts (joined from fragments) keep their length.
    const keyframeAlone = held.sync && this.#videoRun.length === 1;
    if (windowFull || keyframeAlone) {
      this.#flush(dts, out);
      if (windowFull) this.#windowStart = null;
    }
  }

  #onAvcConfig(avcC: Uint8Array): void {
    if (this.#video !== null && equal(this.#video.avcC, avcC)) return;
    if (this.#initWritten) {
      throw new RemuxError("CONFIG_CHANGED", "the publisher sent a new H.264 sequence header (SPS/PPS) mid-stream");
    }
    // A copy: the configuration outlives the input it came in, whose buffer may be reused (onWritten).
    this.#video = parseAvcConfig(avcC.slice());
  }

  #onAudio(tag: FlvTag): void {
    const p = tag.payload;
    if (p[0]! >> 4 !== FLV_SOUND_AAC) throw new RemuxError("UNSUPPORTED_CODEC", `FLV sound format ${p[0]! >> 4} is not AAC`);
    if (p[1] === 0) {
      const asc = p.subarray(2);
      if (this.#audio !== null && equal(this.#audio.asc, asc)) return;
      if (this.#initWritten && this.#audioInInit) {
        throw new RemuxError("CONFIG_CHANGED", "the publisher sent a new AAC configuration mid-stream");
      }
      if (!this.#initWritten) this.#audio = parseAacConfig(asc.slice());
      return;
    }
    // Raw AAC before its configuration, or after an init written without audio, cannot be declared: dropped.
    if (this.#audio === null || (this.#initWritten && !this.#audioInInit)) return;
    const rate = this.#audio.sampleRate;
    const measured = Math.round(((tag.timestampMs - this.#originMs!) * rate) / 1000);
    if (measured < 0 && this.#nextAudioDts === null) return;
    const expected = this.#nextAudioDts;
    // Steady frames keep exact 1024-sample spacing (tag times are rounded to ms); a gap over a frame re-anchors.
    const dts = expected === null || measured > expected + AAC_FRAME_SAMPLES ? measured : expected;
    this.#nextAudioDts = dts + AAC_FRAME_SAMPLES;
    this.#audioQueue.push({ data: p.subarray(2), decodeTime: dts, duration: AAC_FRAME_SAMPLES, compositionOffset: 0, sync: true });
  }

  /** Writes the video run and the audio before video tick `untilTicks` as one fragment (and the init before the first). */
  #flush(untilTicks: number, out: Uint8Array[]): void {
    if (this.#videoRun.length === 0) return;
    if (!this.#initWritten) {
      this.#initWritten = true;
      this.#audioInInit = this.#audio !== null;
      out.push(writeInit(this.#video!, this.#audio));
    }
    let audio: Sample[] = [];
    if (this.#audioInInit) {
      const rate = this.#audio!.sampleRate;
      const cut = this.#audioQueue.findIndex((s) => s.decodeTime * VIDEO_TIMESCALE >= untilTicks * rate);
      audio = cut === -1 ? this.#audioQueue : this.#audioQueue.slice(0, cut);
      this.#audioQueue = cut === -1 ? [] : this.#audioQueue.slice(cut);
    }
    if (this.#videoRun[0]!.sync) this.#arena.startGop();
    out.push(writeFragment(this.#sequence++, { video: this.#videoRun, audio }, (size) => this.#arena.take(size)));
    if (this.#onWritten) for (const sample of [...this.#videoRun, ...audio]) this.#onWritten(sample.data);
    this.#videoRun = [];
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
