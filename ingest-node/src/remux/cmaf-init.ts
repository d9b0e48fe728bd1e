// Writes a CMAF init segment (ftyp + moov with mvex) for one H.264 video track and an optional AAC audio track.
import type { AacConfig } from "./aac-config.ts";
import type { AvcConfig } from "./avc-config.ts";
import { ascii, box, concat, fields, fullBox, UNITY_MATRIX } from "./mp4-boxes.ts";

/** Track ids and timescales of the remuxer's output. */
export const VIDEO_TRACK_ID = 1;
export const AUDIO_TRACK_ID = 2;
/** 90 kHz: FLV's millisecond timestamps map to whole ticks. */
export const VIDEO_TIMESCALE = 90_000;

/** Sample flags (ISO 14496-12 8.8.3.1): a sync sample depends on no other; any other sample is non-sync. */
export const SYNC_SAMPLE_FLAGS = 0x02000000;
export const NON_SYNC_SAMPLE_FLAGS = 0x01010000;

/** The init segment: ftyp, then a moov declaring the tracks with empty sample tables and their trex defaults. */
export function writeInit(video: AvcConfig, audio: AacConfig | null): Uint8Array {
  const ftyp = box("ftyp", ascii("iso6"), fields([32, 0]), ascii("iso6"), ascii("cmfc"), ascii("iso5"), ascii("mp41"));
  const mvhd = fullBox(
    "mvhd",
    0,
    0,
    fields([32, 0], [32, 0], [32, 1000], [32, 0], [32, 0x00010000], [16, 0x0100], [16, 0], [32, 0], [32, 0]),
    UNITY_MATRIX,
    new Uint8Array(24),
    fields([32, audio ? AUDIO_TRACK_ID + 1 : VIDEO_TRACK_ID + 1]),
  );
  const traks = [videoTrak(video)];
  const trexs = [trex(VIDEO_TRACK_ID, NON_SYNC_SAMPLE_FLAGS)];
  if (audio) {
    traks.push(audioTrak(audio));
    trexs.push(trex(AUDIO_TRACK_ID, SYNC_SAMPLE_FLAGS));
  }
  return concat([ftyp, box("moov", mvhd, ...traks, box("mvex", ...trexs))]);
}

function trex(trackId: number, sampleFlags: number): Uint8Array {
  return fullBox("trex", 0, 0, fields([32, trackId], [32, 1], [32, 0], [32, 0], [32, sampleFlags]));
}

/** tkhd: enabled, in movie and in preview; width and height are the display size in 16.16. */
function tkhd(trackId: number, volume: number, width: number, height: number): Uint8Array {
  return fullBox(
    "tkhd",
    0,
    0x000007,
    fields([32, 0], [32, 0], [32, trackId], [32, 0], [32, 0], [32, 0], [32, 0], [16, 0], [16, volume ? 1 : 0], [16, volume], [16, 0]),
    UNITY_MATRIX,
    fields([32, width * 65536], [32, height * 65536]),
  );
}

function mdia(timescale: number, handler: string, name: string, mediaHeader: Uint8Array, entry: Uint8Array): Uint8Array {
  // Language `und` packed as three 5-bit letters.
  const mdhd = fullBox("mdhd", 0, 0, fields([32, 0], [32, 0], [32, timescale], [32, 0], [16, 0x55c4], [16, 0]));
  const hdlr = fullBox("hdlr", 0, 0, fields([32, 0]), ascii(handler), new Uint8Array(12), ascii(`${name}\0`));
  const dinf = box("dinf", fullBox("dref", 0, 0, fields([32, 1]), fullBox("url ", 0, 1)));
  const stbl = box(
    "stbl",
    fullBox("stsd", 0, 0, fields([32, 1]), entry),
    fullBox("stts", 0, 0, fields([32, 0])),
    fullBox("stsc", 0, 0, fields([32, 0])),
    fullBox("stsz", 0, 0, fields([32, 0], [32, 0])),
    fullBox("stco", 0, 0, fields([32, 0])),
  );
  return box("mdia", mdhd, hdlr, box("minf", mediaHeader, dinf, stbl));
}

function videoTrak(video: AvcConfig): Uint8Array {
  const displayWidth = Math.round((video.width * video.sarWidth) / video.sarHeight);
  const entry = box(
    "avc1",
    new Uint8Array(6),
    fields([16, 1]), // reserved, data_reference_index
    new Uint8Array(16), // pre_defined, reserved
    fields([16, video.width], [16, video.height], [32, 0x00480000], [32, 0x00480000], [32, 0], [16, 1]),
    new Uint8Array(32), // compressorname
    fields([16, 0x0018], [16, 0xffff]), // depth, pre_defined = -1
    box("avcC", video.avcC),
    ...(video.sarWidth !== video.sarHeight ? [box("pasp", fields([32, video.sarWidth], [32, video.sarHeight]))] : []),
  );
  const vmhd = fullBox("vmhd", 0, 1, new Uint8Array(8));
  return box("trak", tkhd(VIDEO_TRACK_ID, 0, displayWidth, video.height), mdia(VIDEO_TIMESCALE, "vide", "VideoHandler", vmhd, entry));
}

function audioTrak(audio: AacConfig): Uint8Array {
  const entry = box(
    "mp4a",
    new Uint8Array(6),
    fields([16, 1]),
    new Uint8Array(8), // reserved (version 0)
    fields([16, audio.channels], [16, 16], [16, 0], [16, 0], [32, Math.min(audio.sampleRate, 65535) * 65536]),
    esds(audio.asc),
  );
  const smhd = fullBox("smhd", 0, 0, new Uint8Array(4));
  return box("trak", tkhd(AUDIO_TRACK_ID, 0x0100, 0, 0), mdia(audio.sampleRate, "soun", "SoundHandler", smhd, entry));
}

/** An esds box: ES_Descriptor > DecoderConfigDescriptor (AAC, audio stream) > DecoderSpecificInfo (the ASC). */
function esds(asc: Uint8Array): Uint8Array {
  const specific = descriptor(0x05, asc);
  const config = descriptor(0x04, fields([8, 0x40], [8, 0x15], [24, 0], [32, 0], [32, 0]), specific);
  const es = descriptor(0x03, fields([16, AUDIO_TRACK_ID], [8, 0]), config, descriptor(0x06, fields([8, 0x02])));
  return fullBox("esds", 0, 0, es);
}

/** An MPEG-4 descriptor with its size as four 7-bit bytes (as FFmpeg writes it, any size up to 2^28). */
function descriptor(tag: number, ...body: Uint8Array[]): Uint8Array {
  const payload = concat(body);
  const n = payload.byteLength;
  return concat([fields([8, tag], [8, 0x80 | ((n >> 21) & 0x7f)], [8, 0x80 | ((n >> 14) & 0x7f)], [8, 0x80 | ((n >> 7) & 0x7f)], [8, n & 0x7f]), payload]);
}
