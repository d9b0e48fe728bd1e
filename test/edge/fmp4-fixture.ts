// Synthetic fragmented MP4 objects for in-runtime download tests: an init segment whose moov names two tracks with
// their timescales, and segments of moof (mfhd, traf with tfhd and a 64-bit tfdt per track) + mdat, laid out as FFmpeg
// writes them. Not decodable (the mdat is filler): the edge only reads and rewrites the boxes, and the e2e test plays
// real ones.

/** Track id -> timescale of the fixture's tracks (video as FFmpeg's mp4 muxer picks it at 30 fps, AAC at 48 kHz). */
export const TRACKS = new Map<number, number>([
  [1, 15360],
  [2, 48000],
]);

function box(type: string, ...payload: Uint8Array[]): Uint8Array {
  const size = 8 + payload.reduce((sum, p) => sum + p.byteLength, 0);
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, size);
  out.set(new TextEncoder().encode(type), 4);
  let at = 8;
  for (const p of payload) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function fields(...values: [bits: 8 | 32 | 64, value: number | bigint][]): Uint8Array {
  const size = values.reduce((sum, [bits]) => sum + bits / 8, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const [bits, value] of values) {
    if (bits === 8) view.setUint8(at, Number(value));
    else if (bits === 32) view.setUint32(at, Number(value));
    else view.setBigUint64(at, BigInt(value));
    at += bits / 8;
  }
  return out;
}

/** An init segment (ftyp + moov) naming the fixture's tracks; `label` changes its bytes (a different encoder). */
export function initSegment(label = "edgecast"): Uint8Array {
  const traks = [...TRACKS].map(([trackId, timescale]) =>
    box(
      "trak",
      // tkhd version 0: flags, creation, modification, track_ID, reserved, duration.
      box("tkhd", fields([8, 0], [8, 0], [8, 0], [8, 3], [32, 0], [32, 0], [32, trackId], [32, 0], [32, 0])),
      box("mdia", box("mdhd", fields([32, 0], [32, 0], [32, 0], [32, timescale], [32, 0], [32, 0]))),
    ),
  );
  return new Uint8Array([
    ...box("ftyp", new TextEncoder().encode("iso6mp41")),
    ...box("moov", box("mvhd", fields([32, 0], [32, 0], [32, 0], [32, 1000], [32, 0])), ...traks, box("udta", new TextEncoder().encode(label))),
  ]);
}

/** One fragment (moof + mdat) whose tracks start at `seconds`, with `filler` bytes of sample data. */
function fragment(sequence: number, seconds: number, filler: number, seed: number): Uint8Array {
  const trafs = [...TRACKS].map(([trackId, timescale]) =>
    box(
      "traf",
      box("tfhd", fields([32, 0x020000], [32, trackId])),
      box("tfdt", fields([8, 1], [8, 0], [8, 0], [8, 0], [64, BigInt(Math.round(seconds * timescale))])),
    ),
  );
  const data = new Uint8Array(filler).map((_, i) => (i * 7 + seed) & 0xff);
  return new Uint8Array([...box("moof", box("mfhd", fields([32, 0], [32, sequence])), ...trafs), ...box("mdat", data)]);
}

/** A 2 s segment of two 1 s fragments starting at `seconds` of its encoder's timeline. */
export function mediaSegment(seconds: number, seed: number, filler = 1500): Uint8Array {
  return new Uint8Array([...fragment(seed * 2, seconds, filler, seed), ...fragment(seed * 2 + 1, seconds + 1, filler + 16, seed + 1)]);
}

/** AES-128-CBC with PKCS7 under `key`, IV = `msn` (HLS METHOD=AES-128 without an IV attribute). */
export async function encryptSegment(key: Uint8Array, msn: number, plain: Uint8Array): Promise<Uint8Array> {
  const iv = new Uint8Array(16);
  new DataView(iv.buffer).setUint32(12, msn);
  const aes = await crypto.subtle.importKey("raw", key, { name: "AES-CBC" }, false, ["encrypt"]);
  return new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CBC", iv }, aes, plain));
}
