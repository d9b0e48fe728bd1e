// Reads what the packager and the playlists need from an init segment's moov: tracks, codecs, picture size, frame rate.
import type { Box } from "./box-reader.ts";
import type { BoxRange } from "./box-view.ts";
import { child, children, fullBoxHeader, malformed, needBody, rangeOf, requireChild, viewOf } from "./box-view.ts";
import { avcCodecString, fixedCodecString, hevcCodecString, mp4aCodecString } from "./codec-string.ts";
import { PackagerError } from "./errors.ts";
import { frameRateFromAvcC } from "./h264-sps.ts";

/** Per-sample defaults a track declares in mvex/trex, used when tfhd and trun leave a field out. */
export interface TrackDefaults {
  sampleDescriptionIndex: number;
  sampleDuration: number;
  sampleSize: number;
  sampleFlags: number;
}

/** One track of the init segment. `codec` is null for tracks that are neither video nor audio. */
export interface TrackInfo {
  id: number;
  /** hdlr handler type: `vide`, `soun`, or another four-character code. */
  handler: string;
  timescale: number;
  /** Sample entry type, e.g. `avc1`, `hvc1`, `mp4a`. */
  sampleEntry: string;
  codec: string | null;
  width: number | null;
  height: number | null;
  frameRate: number | null;
  sampleRate: number | null;
  channelCount: number | null;
  defaults: TrackDefaults;
}

/** What the init segment says about the rendition. Picture fields come from the first video track. */
export interface InitInfo {
  tracks: TrackInfo[];
  /** HLS CODECS attribute value: the tracks' codec strings in moov order, comma-separated. */
  codecs: string;
  width: number | null;
  height: number | null;
  frameRate: number | null;
}

const NO_DEFAULTS: TrackDefaults = { sampleDescriptionIndex: 1, sampleDuration: 0, sampleSize: 0, sampleFlags: 0 };

/** Parses a moov box; throws PackagerError (MALFORMED_BOX, NO_TRACKS, UNSUPPORTED_CODEC) on what it cannot use. */
export function parseInit(moov: Box): InitInfo {
  try {
    return parseMoov(moov.bytes, rangeOf(moov));
  } catch (error) {
    if (error instanceof RangeError) throw malformed(`moov: read past the end of a box (${error.message})`);
    throw error;
  }
}

function parseMoov(bytes: Uint8Array, moov: BoxRange): InitInfo {
  const view = viewOf(bytes);
  const defaults = new Map<number, TrackDefaults>();
  const mvex = child(bytes, moov, "mvex");
  if (mvex !== undefined) {
    for (const trex of children(bytes, mvex).filter((box) => box.type === "trex")) {
      needBody(trex, 24);
      const at = trex.bodyStart + 4;
      defaults.set(view.getUint32(at), {
        sampleDescriptionIndex: view.getUint32(at + 4),
        sampleDuration: view.getUint32(at + 8),
        sampleSize: view.getUint32(at + 12),
        sampleFlags: view.getUint32(at + 16),
      });
    }
  }
  const tracks = children(bytes, moov)
    .filter((box) => box.type === "trak")
    .map((trak) => parseTrak(bytes, view, trak, defaults));
  if (tracks.length === 0) throw new PackagerError("NO_TRACKS", "moov has no trak");
  const ids = new Set(tracks.map((track) => track.id));
  if (ids.size !== tracks.length) throw malformed("moov has two traks with the same track_ID");
  const codecs = [...new Set(tracks.flatMap((track) => (track.codec === null ? [] : [track.codec])))];
  const video = tracks.find((track) => track.handler === "vide");
  return {
    tracks,
    codecs: codecs.join(","),
    width: video?.width ?? null,
    height: video?.height ?? null,
    frameRate: video?.frameRate ?? null,
  };
}

function parseTrak(bytes: Uint8Array, view: DataView, trak: BoxRange, defaults: Map<number, TrackDefaults>): TrackInfo {
  const tkhd = requireChild(bytes, trak, "tkhd");
  const tkhdVersion = fullBoxHeader(view, tkhd).version;
  needBody(tkhd, tkhdVersion === 1 ? 92 : 80);
  const id = view.getUint32(tkhd.bodyStart + (tkhdVersion === 1 ? 20 : 12));
  const mdia = requireChild(bytes, trak, "mdia");
  const mdhd = requireChild(bytes, mdia, "mdhd");
  const mdhdVersion = fullBoxHeader(view, mdhd).version;
  needBody(mdhd, mdhdVersion === 1 ? 24 : 16);
  const timescale = view.getUint32(mdhd.bodyStart + (mdhdVersion === 1 ? 20 : 12));
  if (timescale === 0) throw malformed(`track ${id}: mdhd timescale is 0`);
  const hdlr = requireChild(bytes, mdia, "hdlr");
  needBody(hdlr, 12);
  const handler = String.fromCharCode(...bytes.subarray(hdlr.bodyStart + 8, hdlr.bodyStart + 12));
  const stbl = requireChild(bytes, requireChild(bytes, mdia, "minf"), "stbl");
  const stsd = requireChild(bytes, stbl, "stsd");
  const entry = children(bytes, stsd, 8)[0];
  if (entry === undefined) throw malformed(`track ${id}: stsd has no sample entry`);
  const track: TrackInfo = {
    id,
    handler,
    timescale,
    sampleEntry: entry.type,
    codec: null,
    width: null,
    height: null,
    frameRate: null,
    sampleRate: null,
    channelCount: null,
    defaults: defaults.get(id) ?? NO_DEFAULTS,
  };
  if (handler === "vide") {
    readVideoEntry(bytes, view, entry, track);
    if (track.width === 0 || track.height === 0) {
      track.width = view.getUint16(tkhd.end - 8);
      track.height = view.getUint16(tkhd.end - 4);
    }
    if (track.frameRate === null && track.defaults.sampleDuration > 0) {
      track.frameRate = timescale / track.defaults.sampleDuration;
    }
  } else if (handler === "soun") {
    readAudioEntry(bytes, view, entry, track);
  }
  return track;
}

function readVideoEntry(bytes: Uint8Array, view: DataView, entry: BoxRange, track: TrackInfo): void {
  needBody(entry, 78);
  track.width = view.getUint16(entry.bodyStart + 24);
  track.height = view.getUint16(entry.bodyStart + 26);
  const configs = children(bytes, entry, 78);
  const body = (type: string): Uint8Array | undefined => {
    const box = configs.find((candidate) => candidate.type === type);
    return box === undefined ? undefined : bytes.subarray(box.bodyStart, box.end);
  };
  if (entry.type === "avc1" || entry.type === "avc3") {
    const avcC = body("avcC");
    if (avcC === undefined) throw malformed(`track ${track.id}: ${entry.type} has no avcC`);
    track.codec = avcCodecString(entry.type, avcC);
    track.frameRate = frameRateFromAvcC(avcC);
  } else if (entry.type === "hvc1" || entry.type === "hev1") {
    const hvcC = body("hvcC");
    if (hvcC === undefined) throw malformed(`track ${track.id}: ${entry.type} has no hvcC`);
    track.codec = hevcCodecString(entry.type, hvcC);
  } else {
    track.codec = fixedCodecString(entry.type);
  }
}

function readAudioEntry(bytes: Uint8Array, view: DataView, entry: BoxRange, track: TrackInfo): void {
  needBody(entry, 28);
  // QuickTime sound sample description versions 1 and 2 append 16 and 36 bytes before the child boxes.
  const version = view.getUint16(entry.bodyStart + 8);
  const skip = version === 1 ? 44 : version === 2 ? 64 : 28;
  track.channelCount = view.getUint16(entry.bodyStart + 16);
  track.sampleRate = view.getUint32(entry.bodyStart + 24) / 65536;
  if (entry.type === "mp4a") {
    const esds = child(bytes, entry, "esds", skip);
    if (esds === undefined) throw malformed(`track ${track.id}: mp4a has no esds`);
    track.codec = mp4aCodecString(bytes.subarray(esds.bodyStart, esds.end));
  } else {
    track.codec = fixedCodecString(entry.type);
  }
}
