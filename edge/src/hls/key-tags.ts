// EXT-X-KEY tags of encrypted playlists, shared by the live and the on-demand renderers. Pure: strings out.
// "§" cites draft-pantos-hls-rfc8216bis (HLS 2nd edition).
//
// - §4.4.4.4: an EXT-X-KEY applies to every Media Segment *and every Media Initialization Section declared by an
//   EXT-X-MAP* between it and the next EXT-X-KEY. Init segments stay in the clear (their IV could not be the msn:
//   §4.4.4.5 requires an IV attribute for an encrypted one), so a new EXT-X-MAP is preceded by METHOD=NONE when a key
//   is in effect, and the key is named again after it. hls.js acts on this: it decrypts an init section that follows
//   an AES-128 key (with IV 0 when the tag has none).
// - §5.2: without an IV attribute the IV is the Media Sequence Number, which is what the node encrypts with (a part
//   uses its parent segment's msn), so the tags carry no IV — except where a playlist's implied sequence number is not
//   the segment's msn (an on-demand playlist skipping a hole): there each segment gets a tag with IV=<its msn>.
// - §6.2.3: an EXT-X-KEY is never removed while a segment it applies to is listed: every render (a sliding window, a
//   delta update after EXT-X-SKIP) names the key of its first segment before it, and a tag goes before the first
//   segment (and first part, §4.4.4.9) of each key period and again after every EXT-X-DISCONTINUITY.
import { keyPeriod } from "../../../protocol/content-keys.ts";

/** What a renderer needs to name a stream's keys. */
export interface KeySchedule {
  /** Segments per content key. */
  rotateEvery: number;
  /** Absolute path of the key files, ending in `/` (`{prefix}{k}.key`). */
  keyUriPrefix: string;
}

/** The tag that ends the current key's scope (before a clear EXT-X-MAP). */
export const CLEAR_KEY_TAG = "#EXT-X-KEY:METHOD=NONE";

/**
 * The EXT-X-KEY tag of content key `period`; `query` is appended to its URI (e.g. `?token=...`). With `ivMsn` the tag
 * carries that msn as its IV attribute (a 128-bit hexadecimal-sequence, §4.4.4.4).
 */
export function keyTag(schedule: KeySchedule, period: number, query = "", ivMsn?: number): string {
  const iv = ivMsn === undefined ? "" : `,IV=0x${ivMsn.toString(16).padStart(32, "0")}`;
  return `#EXT-X-KEY:METHOD=AES-128,URI="${schedule.keyUriPrefix}${period}.key${query}"${iv}`;
}

/** Places key tags while a playlist is written top to bottom. */
export interface KeyTagWriter {
  /** Tags to write before an EXT-X-MAP: METHOD=NONE when a key is in effect. */
  beforeMap(): string[];
  /** After an EXT-X-DISCONTINUITY: the next segment names its key again. */
  restart(): void;
  /**
   * Tags to write before segment `msn` (before its first part, if any): its key when it differs from the last. When
   * the playlist's implied Media Sequence Number of that segment (`sequenceNumber`) is not `msn`, a tag with an
   * explicit IV, for this segment alone.
   */
  before(msn: number, sequenceNumber?: number): string[];
}

/** A writer for `schedule` (null: a clear stream, no tags at all). */
export function keyTagWriter(schedule: KeySchedule | null | undefined, query = ""): KeyTagWriter {
  let current: number | null = null;
  let repeat = false;
  let explicitIv = false;
  return {
    beforeMap() {
      if (!schedule || current === null) return [];
      current = null;
      return [CLEAR_KEY_TAG];
    },
    restart() {
      repeat = true;
    },
    before(msn, sequenceNumber = msn) {
      if (!schedule) return [];
      const period = keyPeriod(msn, schedule.rotateEvery);
      const needsIv = sequenceNumber !== msn;
      if (period === current && !repeat && !needsIv && !explicitIv) return [];
      current = period;
      repeat = false;
      explicitIv = needsIv;
      return [keyTag(schedule, period, query, needsIv ? msn : undefined)];
    },
  };
}
