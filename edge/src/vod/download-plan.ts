// What an MP4 download of an on-demand asset is made of, read back from the asset's own stored playlists (the one
// record of exactly which segments a VOD or a clip names): the best rendition, and per period (a run of segments
// between discontinuities) its init segment and its segments with their keys. Pure: playlist text in, data out.
import { addressOfUrlPath, type MediaAddress, segmentMsnOfFile } from "../storage/media.ts";

/** One segment of a download: where it is, its msn, its duration and the content key that encrypts it (if any). */
export interface PlannedSegment {
  address: MediaAddress;
  msn: number;
  duration: number;
  /** The encrypted broadcast session and content key index, or null for a clear segment. */
  key: { sessionId: string; period: number } | null;
}

/** Segments between two discontinuities: one init segment, continuous timestamps. */
export interface PlannedPeriod {
  init: MediaAddress;
  segments: PlannedSegment[];
}

/** The renditions an asset's multivariant playlist names, best (highest BANDWIDTH) first. */
export function assetRenditions(master: string): string[] {
  const found: { name: string; bandwidth: number }[] = [];
  const lines = master.split("\n").map((line) => line.trim());
  for (const [index, line] of lines.entries()) {
    if (!line.startsWith("#EXT-X-STREAM-INF:")) continue;
    const bandwidth = Number(/[:,]BANDWIDTH=(\d+)/.exec(line)?.[1] ?? 0);
    const name = /^([^/?#]+)\/index\.m3u8/.exec(lines[index + 1] ?? "")?.[1];
    if (name) found.push({ name, bandwidth });
  }
  return found.sort((a, b) => b.bandwidth - a.bandwidth).map((r) => r.name);
}

const KEY_URI = /^\/live\/[^/]+\/keys\/([^/]+)\/(\d+)\.key$/;

function attribute(line: string, name: string): string | undefined {
  return new RegExp(`[:,]${name}=(?:"([^"]*)"|([^,]*))`)
    .exec(line)
    ?.slice(1)
    .find((v) => v !== undefined);
}

function address(uri: string): MediaAddress {
  const parsed = addressOfUrlPath(new URL(uri, "https://asset.invalid").pathname);
  if (!parsed) throw new Error(`the asset playlist names an unknown media URI "${uri.slice(0, 120)}"`);
  return parsed;
}

/**
 * The periods of an asset's media playlist (as written by vod-playlist.ts): a new period at each
 * EXT-X-DISCONTINUITY or EXT-X-MAP; each segment with the key in effect before it. Throws on a playlist it cannot read.
 */
export function planPeriods(media: string): PlannedPeriod[] {
  const periods: PlannedPeriod[] = [];
  let init: MediaAddress | null = null;
  let fresh = true;
  let key: PlannedSegment["key"] = null;
  let duration: number | null = null;
  for (const raw of media.split("\n")) {
    const line = raw.trim();
    if (line === "" || line === "#EXTM3U") continue;
    if (line === "#EXT-X-DISCONTINUITY") {
      fresh = true;
    } else if (line.startsWith("#EXT-X-MAP:")) {
      init = address(attribute(line, "URI") ?? "");
      fresh = true;
    } else if (line.startsWith("#EXT-X-KEY:")) {
      const method = attribute(line, "METHOD");
      if (method === "NONE") key = null;
      else if (method === "AES-128") {
        const match = KEY_URI.exec(new URL(attribute(line, "URI") ?? "", "https://asset.invalid").pathname);
        if (!match) throw new Error("the asset playlist names a key URI it cannot read");
        key = { sessionId: match[1]!, period: Number(match[2]) };
      } else throw new Error(`the asset playlist uses an unsupported key method "${method}"`);
    } else if (line.startsWith("#EXTINF:")) {
      duration = Number.parseFloat(line.slice("#EXTINF:".length));
    } else if (!line.startsWith("#")) {
      if (!init || duration === null || !Number.isFinite(duration)) throw new Error("the asset playlist names a segment without EXT-X-MAP or EXTINF");
      const segment = address(line);
      const msn = segmentMsnOfFile(segment.file);
      if (msn === null) throw new Error(`the asset playlist names "${segment.file}" as a segment`);
      if (fresh || periods.length === 0) periods.push({ init, segments: [] });
      fresh = false;
      periods[periods.length - 1]!.segments.push({ address: segment, msn, duration, key });
      duration = null;
    }
  }
  return periods;
}
