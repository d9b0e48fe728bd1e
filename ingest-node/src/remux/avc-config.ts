// Reads what an MP4 video sample entry needs from an AVCDecoderConfigurationRecord (ISO 14496-15): the picture size.
import { RemuxError } from "./errors.ts";

/** An AVC configuration as the init segment declares it. */
export interface AvcConfig {
  /** The AVCDecoderConfigurationRecord, as the FLV sequence header carries it (the avcC box body). */
  avcC: Uint8Array;
  /** Displayed picture size from the first SPS (cropping applied). */
  width: number;
  height: number;
  /** Sample aspect ratio from the SPS VUI (1:1 when absent). */
  sarWidth: number;
  sarHeight: number;
}

/** Parses an avcC body; throws BAD_CONFIG when it holds no readable SPS. */
export function parseAvcConfig(avcC: Uint8Array): AvcConfig {
  if (avcC.byteLength < 8 || avcC[0] !== 1 || (avcC[5]! & 0x1f) === 0) {
    throw new RemuxError("BAD_CONFIG", `AVC sequence header of ${avcC.byteLength} bytes holds no SPS`);
  }
  const length = (avcC[6]! << 8) | avcC[7]!;
  if (length < 4 || 8 + length > avcC.byteLength) throw new RemuxError("BAD_CONFIG", "AVC sequence header: SPS overruns it");
  try {
    return { avcC: avcC.slice(), ...readSps(unescapeRbsp(avcC.subarray(9, 8 + length))) };
  } catch (error) {
    if (error instanceof RangeError) throw new RemuxError("BAD_CONFIG", "AVC sequence header: the SPS is truncated");
    throw error;
  }
}

/** Reads bits MSB-first, with Exp-Golomb codes; RangeError past the end. */
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
      if (byte === undefined) throw new RangeError("end of SPS");
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
    while (this.bits(1) === 0) if (++zeros > 31) throw new RangeError("bad Exp-Golomb code");
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
  [1, 1], [1, 1], [12, 11], [10, 11], [16, 11], [40, 33], [24, 11], [20, 11], [32, 11], [80, 33], [18, 11], [15, 11],
  [64, 33], [160, 99], [4, 3], [3, 2], [2, 1],
];

function readSps(rbsp: Uint8Array): Omit<AvcConfig, "avcC"> {
  const r = new BitReader(rbsp);
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
  let sar: readonly [number, number] = [1, 1];
  try {
    if (r.flag() && r.flag()) {
      const idc = r.bits(8);
      sar = idc === 255 ? [r.bits(16), r.bits(16)] : (SAR_TABLE[idc] ?? [1, 1]);
    }
  } catch {
    // The VUI is optional detail: a truncated one leaves square pixels.
  }
  if (!(width > 0 && height > 0)) throw new RemuxError("BAD_CONFIG", `the SPS declares a ${width}x${height} picture`);
  return { width, height, sarWidth: sar[0] || 1, sarHeight: sar[1] || 1 };
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
