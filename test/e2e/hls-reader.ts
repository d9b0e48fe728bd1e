// A small HLS client for end-to-end tests: fetches playlists, parses what the tests need, follows the URIs they
// name (resolved against the playlist's own URL) and downloads init segments and media segments.

/** One variant of a multivariant playlist. */
export interface Variant {
  /** The URI as written in the playlist. */
  uri: string;
  /** The URI resolved against the playlist's URL. */
  url: string;
  bandwidth: number | null;
  resolution: { width: number; height: number } | null;
  codecs: string | null;
  frameRate: number | null;
  attributes: Record<string, string>;
}

/** A parsed multivariant playlist. */
export interface MasterPlaylist {
  url: string;
  text: string;
  variants: Variant[];
}

/** One media segment of a media playlist. */
export interface MediaSegment {
  /** Media sequence number (EXT-X-MEDIA-SEQUENCE + position). */
  msn: number;
  /** EXTINF duration in seconds. */
  duration: number;
  uri: string;
  url: string;
  /** URL of the EXT-X-MAP in effect for this segment. */
  mapUrl: string | null;
  discontinuity: boolean;
  gap: boolean;
  programDateTime: string | null;
}

/** A parsed media playlist. */
export interface MediaPlaylist {
  url: string;
  text: string;
  targetDuration: number | null;
  mediaSequence: number;
  segments: MediaSegment[];
  ended: boolean;
}

/** Parses an attribute list (`A=1,B="x,y",C=0x10`). */
export function parseAttributes(text: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  const pattern = /([A-Z0-9-]+)=("[^"]*"|[^,]*)/g;
  for (const match of text.matchAll(pattern)) {
    const value = match[2] ?? "";
    attributes[match[1]!] = value.startsWith('"') ? value.slice(1, -1) : value;
  }
  return attributes;
}

function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
}

/** Parses a multivariant playlist fetched from `url`. */
export function parseMaster(text: string, url: string): MasterPlaylist {
  const all = lines(text);
  if (all[0] !== "#EXTM3U") throw new Error(`${url} is not a playlist (no #EXTM3U)`);
  const variants: Variant[] = [];
  let pending: Record<string, string> | null = null;
  for (const line of all) {
    if (line.startsWith("#EXT-X-STREAM-INF:")) {
      pending = parseAttributes(line.slice("#EXT-X-STREAM-INF:".length));
    } else if (!line.startsWith("#") && pending) {
      const resolution = /^(\d+)x(\d+)$/.exec(pending.RESOLUTION ?? "");
      variants.push({
        uri: line,
        url: new URL(line, url).toString(),
        bandwidth: pending.BANDWIDTH ? Number(pending.BANDWIDTH) : null,
        resolution: resolution ? { width: Number(resolution[1]), height: Number(resolution[2]) } : null,
        codecs: pending.CODECS ?? null,
        frameRate: pending["FRAME-RATE"] ? Number(pending["FRAME-RATE"]) : null,
        attributes: pending,
      });
      pending = null;
    }
  }
  return { url, text, variants };
}

/** Parses a media playlist fetched from `url` (plain HLS tags; LL-HLS parts are ignored). */
export function parseMedia(text: string, url: string): MediaPlaylist {
  const all = lines(text);
  if (all[0] !== "#EXTM3U") throw new Error(`${url} is not a playlist (no #EXTM3U)`);
  let targetDuration: number | null = null;
  let mediaSequence = 0;
  let ended = false;
  let mapUrl: string | null = null;
  let duration: number | null = null;
  let discontinuity = false;
  let gap = false;
  let programDateTime: string | null = null;
  const segments: MediaSegment[] = [];
  for (const line of all) {
    if (line.startsWith("#EXT-X-TARGETDURATION:")) targetDuration = Number(line.split(":")[1]);
    else if (line.startsWith("#EXT-X-MEDIA-SEQUENCE:")) mediaSequence = Number(line.split(":")[1]);
    else if (line === "#EXT-X-ENDLIST") ended = true;
    else if (line.startsWith("#EXT-X-MAP:")) {
      const uri = parseAttributes(line.slice("#EXT-X-MAP:".length)).URI;
      mapUrl = uri ? new URL(uri, url).toString() : null;
    } else if (line === "#EXT-X-DISCONTINUITY") discontinuity = true;
    else if (line === "#EXT-X-GAP") gap = true;
    else if (line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")) programDateTime = line.slice("#EXT-X-PROGRAM-DATE-TIME:".length);
    else if (line.startsWith("#EXTINF:")) duration = Number.parseFloat(line.slice("#EXTINF:".length));
    else if (!line.startsWith("#")) {
      if (duration === null) throw new Error(`${url}: URI line without #EXTINF: ${line}`);
      segments.push({
        msn: mediaSequence + segments.length,
        duration,
        uri: line,
        url: new URL(line, url).toString(),
        mapUrl,
        discontinuity,
        gap,
        programDateTime,
      });
      duration = null;
      discontinuity = false;
      gap = false;
      programDateTime = null;
    }
  }
  return { url, text, targetDuration, mediaSequence, segments, ended };
}

/** GETs `url` as text; throws on a network error or a timeout. */
export async function fetchText(url: string, timeoutMs = 5000): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

/** GETs `url` as bytes; throws unless the answer is 200. */
export async function fetchBytes(url: string, timeoutMs = 10_000): Promise<Uint8Array> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** The multivariant playlist at `url`, or null while it is not there (any non-200 answer). */
export async function readMaster(url: string): Promise<MasterPlaylist | null> {
  const { status, text } = await fetchText(url);
  return status === 200 ? parseMaster(text, url) : null;
}

/** The media playlist at `url`; throws unless it answers 200. */
export async function readMedia(url: string): Promise<MediaPlaylist> {
  const { status, text } = await fetchText(url);
  if (status !== 200) throw new Error(`GET ${url} answered ${status}: ${text.slice(0, 200)}`);
  return parseMedia(text, url);
}

/** A downloaded segment with the bytes of the init segment it needs. */
export interface DownloadedSegment {
  segment: MediaSegment;
  init: Uint8Array;
  bytes: Uint8Array;
}

/** Downloads every (non-gap) segment of `playlist` and the init segments they name (each init once). */
export async function downloadSegments(playlist: MediaPlaylist): Promise<DownloadedSegment[]> {
  const inits = new Map<string, Uint8Array>();
  const out: DownloadedSegment[] = [];
  for (const segment of playlist.segments) {
    if (segment.gap) continue;
    if (!segment.mapUrl) throw new Error(`${playlist.url}: segment ${segment.msn} has no EXT-X-MAP`);
    let init = inits.get(segment.mapUrl);
    if (!init) {
      init = await fetchBytes(segment.mapUrl);
      inits.set(segment.mapUrl, init);
    }
    out.push({ segment, init, bytes: await fetchBytes(segment.url) });
  }
  return out;
}
