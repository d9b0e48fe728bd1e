// Reads an H.264 sequence parameter set (H.264 7.3.2.1.1): picture size, sample aspect ratio and the frame rate its VUI
// timing info declares (x264 always writes it). The one SPS reader of the node: the packager and the remuxer both use it.

/** What an SPS declares. */
export interface SpsInfo {
  /** Displayed picture size (cropping applied); not validated, so it may be 0 or negative for a broken SPS. */
  width: number;
  height: number;
  /** Sample aspect ratio from the VUI (1:1 when absent or truncated). */
  sarWidth: number;
  sarHeight: number;
  /** timeScale / (2 * unitsInTick) from the VUI timing info, or null when absent or truncated. */
  frameRate: number | null;
}

/** Thrown when the SPS ends (or holds a bad Exp-Golomb code) before its picture size has been read. */
export class SpsTruncated extends RangeError {}

/** Frame rate from the first SPS in an avcC body, or null when the SPS carries no timing info or cannot be read. */
export function frameRateFromAvcC(avcC: Uint8Array): number | null {
  if (avcC.byteLength < 8 || (avcC[5]! & 0x1f) === 0) return null;
  const length = (avcC[6]! << 8) | avcC[7]!;
  if (8 + length > avcC.byteLength || length < 4) return null;
  try {
    return parseSps(unescapeRbsp(avcC.subarray(9, 8 + length))).frameRate;
  } catch (error) {
    if (error instanceof SpsTruncated) return null;
    throw error;
  }
}

/** Reads bits MSB-first, with Exp-Golomb codes; SpsTruncated past the end. */
export class BitReader {
  readonly #bytes: Uint8Array;
  #bit = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** Bits read so far. */
  get position(): number {
    return this.#bit;
  }

  bits(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) {
      const byte = this.#bytes[this.#bit >> 3];
      if (byte === undefined) throw new SpsTruncated("end of SPS");
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
    while (this.bits(1) === 0) if (++zeros > 31) throw new SpsTruncated("bad Exp-Golomb code");
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  se(): number {
    const code = this.ue();
    return code % 2 === 1 ? (code + 1) / 2 : -code / 2;
  }
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);
/** Table E-1 of H.264: sample aspect ratios by aspect_ratio_idc. */
const SAR_TABLE: ReadonlyArray<readonly [number, number]> = [
  [1, 1],
  [1, 1],
  [12, 11],
  [10, 11],
  [16, 11],
  [40, 33],
  [24, 11],
  [20, 11],
  [32, 11],
  [80, 33],
  [18, 11],
  [15, 11],
  [64, 33],
  [160, 99],
  [4, 3],
  [3, 2],
  [2, 1],
];

/** Parses an SPS RBSP (from the profile_idc byte on); throws SpsTruncated when it ends before the picture size. */
export function parseSps(rbsp: Uint8Array): SpsInfo {
  const r = new BitReader(rbsp);
  const { width, height } = readSpsHead(r);
  // The VUI is optional detail: a truncated one leaves square pixels (if cut before the SAR) and no frame rate.
  let vui: VuiHead = { sar: [1, 1], frameRate: null, timingInfo: false };
  try {
    if (r.flag()) vui = readVuiHead(r); // vui_parameters_present_flag
  } catch (error) {
    if (!(error instanceof SpsTruncated)) throw error;
  }
  return { width, height, sarWidth: vui.sar[0] || 1, sarHeight: vui.sar[1] || 1, frameRate: vui.frameRate };
}

/** Reads an SPS RBSP up to vui_parameters_present_flag (the next bit): its displayed picture size. */
export function readSpsHead(r: BitReader): { width: number; height: number } {
  const profileIdc = r.bits(8);
  r.bits(16); // constraint flags, level_idc
  r.ue(); // seq_parameter_set_id
  let chromaFormatIdc = 1;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ue();
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
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.bits(1);
    r.se();
    r.se();
    const cycle = r.ue();
    for (let i = 0; i < cycle; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.bits(1); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightUnits = r.ue() + 1;
  const frameMbsOnly = r.flag() ? 1 : 0;
  if (!frameMbsOnly) r.bits(1); // mb_adaptive_frame_field_flag
  r.bits(1); // direct_8x8_inference_flag
  let crop = [0, 0, 0, 0];
  if (r.flag()) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
  // Crop units (H.264 7.4.2.1.1): chroma subsampling, doubled vertically for field coding.
  const cropX = chromaFormatIdc === 0 || chromaFormatIdc === 3 ? 1 : 2;
  const cropY = (chromaFormatIdc === 1 ? 2 : 1) * (2 - frameMbsOnly);
  const width = widthMbs * 16 - cropX * (crop[0]! + crop[1]!);
  const height = (2 - frameMbsOnly) * heightUnits * 16 - cropY * (crop[2]! + crop[3]!);
  return { width, height };
}

/** The start of an SPS's VUI (H.264 E.1.1): its sample aspect ratio and frame rate. */
export interface VuiHead {
  sar: readonly [number, number];
  /** null without timing info (or with zero in it). */
  frameRate: number | null;
  /** timing_info_present_flag: its fixed_frame_rate_flag is the next bit. */
  timingInfo: boolean;
}

/** Reads a VUI from aspect_ratio_info_present_flag through time_scale (the reader stops before fixed_frame_rate_flag). */
export function readVuiHead(r: BitReader): VuiHead {
  let sar: readonly [number, number] = [1, 1];
  if (r.flag()) {
    const idc = r.bits(8);
    sar = idc === 255 ? [r.bits(16), r.bits(16)] : (SAR_TABLE[idc] ?? [1, 1]);
  }
  if (r.flag()) r.bits(1); // overscan
  if (r.flag()) {
    r.bits(4); // video_format, video_full_range_flag
    if (r.flag()) r.bits(24); // colour description
  }
  if (r.flag()) {
    r.ue();
    r.ue();
  }
  if (!r.flag()) return { sar, frameRate: null, timingInfo: false }; // timing_info_present_flag
  const unitsInTick = r.bits(32);
  const timeScale = r.bits(32);
  return { sar, frameRate: unitsInTick === 0 || timeScale === 0 ? null : timeScale / (2 * unitsInTick), timingInfo: true };
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
export function unescapeRbsp(nal: Uint8Array): Uint8Array {
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
