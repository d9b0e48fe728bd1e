// The frame rate an H.264 sequence parameter set declares in its VUI timing info (x264 always writes it).

/** Frame rate from the first SPS in an avcC body, or null when the SPS carries no timing info or cannot be read. */
export function frameRateFromAvcC(avcC: Uint8Array): number | null {
  if (avcC.byteLength < 8 || (avcC[5]! & 0x1f) === 0) return null;
  const length = (avcC[6]! << 8) | avcC[7]!;
  if (8 + length > avcC.byteLength || length < 4) return null;
  try {
    return frameRateFromSps(unescapeRbsp(avcC.subarray(9, 8 + length)));
  } catch (error) {
    if (error instanceof SpsEnd) return null;
    throw error;
  }
}

class SpsEnd extends Error {}

/** Reads bits MSB-first, with Exp-Golomb codes. */
class BitReader {
  readonly #bytes: Uint8Array;
  #bit = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  bits(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) {
      const byte = this.#bytes[this.#bit >> 3];
      if (byte === undefined) throw new SpsEnd();
      value = value * 2 + ((byte >> (7 - (this.#bit & 7))) & 1);
      this.#bit += 1;
    }
    return value;
  }

  flag(): boolean {
    return this.bits(1) === 1;
  }

  ue(): number {
    let zeros = 0;
    while (this.bits(1) === 0) {
      zeros += 1;
      if (zeros > 31) throw new SpsEnd();
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  se(): number {
    const code = this.ue();
    return code % 2 === 1 ? (code + 1) / 2 : -code / 2;
  }
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function frameRateFromSps(rbsp: Uint8Array): number | null {
  const r = new BitReader(rbsp);
  const profileIdc = r.bits(8);
  r.bits(16); // constraint flags, level_idc
  r.ue(); // seq_parameter_set_id
  if (HIGH_PROFILES.has(profileIdc)) {
    const chromaFormatIdc = r.ue();
    if (chromaFormatIdc === 3) r.bits(1);
    r.ue(); // bit_depth_luma_minus8
    r.ue(); // bit_depth_chroma_minus8
    r.bits(1); // qpprime_y_zero_transform_bypass_flag
    if (r.flag()) {
      const lists = chromaFormatIdc === 3 ? 12 : 8;
      for (let i = 0; i < lists; i++) if (r.flag()) skipScalingList(r, i < 6 ? 16 : 64);
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) {
    r.ue();
  } else if (pocType === 1) {
    r.bits(1);
    r.se();
    r.se();
    const cycle = r.ue();
    for (let i = 0; i < cycle; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.bits(1); // gaps_in_frame_num_value_allowed_flag
  r.ue(); // pic_width_in_mbs_minus1
  r.ue(); // pic_height_in_map_units_minus1
  if (!r.flag()) r.bits(1); // frame_mbs_only_flag, mb_adaptive_frame_field_flag
  r.bits(1); // direct_8x8_inference_flag
  if (r.flag()) for (let i = 0; i < 4; i++) r.ue(); // frame cropping
  if (!r.flag()) return null; // vui_parameters_present_flag
  if (r.flag() && r.bits(8) === 255) r.bits(32); // aspect ratio (extended SAR)
  if (r.flag()) r.bits(1); // overscan
  if (r.flag()) {
    r.bits(4); // video_format, video_full_range_flag
    if (r.flag()) r.bits(24); // colour description
  }
  if (r.flag()) {
    r.ue();
    r.ue();
  }
  if (!r.flag()) return null; // timing_info_present_flag
  const unitsInTick = r.bits(32);
  const timeScale = r.bits(32);
  if (unitsInTick === 0 || timeScale === 0) return null;
  return timeScale / (2 * unitsInTick);
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** Removes emulation-prevention bytes (00 00 03 -> 00 00). */
function unescapeRbsp(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.byteLength);
  let length = 0;
  let zeros = 0;
  for (const byte of nal) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    zeros = byte === 0 ? zeros + 1 : 0;
    out[length++] = byte;
  }
  return out.subarray(0, length);
}
