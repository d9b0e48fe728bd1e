// Turns an H.264 SPS's picture reordering off, for decoders fed lone keyframes (the thumbnail pipe). Why: FFmpeg's
// decoder holds as many pictures as the VUI's bitstream restriction says may need reordering (x264 with B-frames: 2),
// so each keyframe's picture would come out only after the next ones; `-flags low_delay` and end-of-sequence NAL units
// do not release them (FFmpeg 5.1). A lone IDR picture is output in decode order anyway, so the restriction can go:
// bitstream_restriction_flag is the VUI's last field, so the SPS is cut there, the flag written as 0 and the RBSP
// closed again.
import { BitReader, readSpsHead, readVuiHead, SpsTruncated, unescapeRbsp } from "./h264-sps.ts";

/**
 * The SPS NAL unit `spsNal` (its header byte and emulation prevention included) with bitstream_restriction_flag 0: the
 * same bytes when it has no bitstream restriction, null when it is not an SPS that can be read to its end.
 */
export function withoutReordering(spsNal: Uint8Array): Uint8Array | null {
  if (spsNal.byteLength < 4 || (spsNal[0]! & 0x1f) !== 7) return null;
  const rbsp = unescapeRbsp(spsNal.subarray(1));
  let at: number | null;
  try {
    at = bitstreamRestrictionAt(rbsp);
  } catch (error) {
    if (error instanceof SpsTruncated) return null;
    throw error;
  }
  if (at === null) return spsNal;
  // The bits before the flag, the flag as 0, rbsp_stop_one_bit, then zeros to the byte's end.
  const out = new Uint8Array(Math.ceil((at + 2) / 8));
  out.set(rbsp.subarray(0, Math.ceil(at / 8)));
  if (at % 8 !== 0) out[at >> 3]! &= (0xff << (8 - (at % 8))) & 0xff;
  out[(at + 1) >> 3]! |= 0x80 >> ((at + 1) % 8);
  return escapeRbsp(spsNal[0]!, out);
}

/**
 * Where bitstream_restriction_flag is in `rbsp` (in bits) when it is 1, or null when the SPS has no VUI or no bitstream
 * restriction. The restriction and the trailing bits after it are read too, so an SPS this reader misparses (a profile
 * with fields it does not know) throws SpsTruncated rather than being cut at a wrong place.
 */
function bitstreamRestrictionAt(rbsp: Uint8Array): number | null {
  const r = new BitReader(rbsp);
  readSpsHead(r);
  if (!r.flag()) return null; // vui_parameters_present_flag
  if (readVuiHead(r).timingInfo) r.bits(1); // fixed_frame_rate_flag
  const nalHrd = r.flag();
  if (nalHrd) skipHrdParameters(r);
  const vclHrd = r.flag();
  if (vclHrd) skipHrdParameters(r);
  if (nalHrd || vclHrd) r.bits(1); // low_delay_hrd_flag
  r.bits(1); // pic_struct_present_flag
  const at = r.position;
  if (!r.flag()) return null;
  r.bits(1); // motion_vectors_over_pic_boundaries_flag
  for (let i = 0; i < 6; i++) r.ue(); // max_bytes_per_pic_denom .. max_dec_frame_buffering
  if (r.bits(1) !== 1) throw new SpsTruncated("no rbsp_stop_one_bit after the VUI");
  // Zero bits to the end (trailing zero bytes are allowed; anything else means this reader went wrong).
  if (rbsp.subarray(Math.ceil(r.position / 8)).some((byte) => byte !== 0)) throw new SpsTruncated("bits after rbsp_stop_one_bit");
  while (r.position % 8 !== 0) if (r.bits(1) !== 0) throw new SpsTruncated("bits after rbsp_stop_one_bit");
  return at;
}

/** Skips hrd_parameters() (H.264 E.1.2). */
function skipHrdParameters(r: BitReader): void {
  const cpbCount = r.ue() + 1;
  if (cpbCount > 32) throw new SpsTruncated("cpb_cnt_minus1 past 31");
  r.bits(8); // bit_rate_scale, cpb_size_scale
  for (let i = 0; i < cpbCount; i++) {
    r.ue(); // bit_rate_value_minus1
    r.ue(); // cpb_size_value_minus1
    r.bits(1); // cbr_flag
  }
  r.bits(20); // the four delay and offset lengths
}

/** The NAL unit of `header` and `rbsp`, emulation prevention added (00 00 0x, x <= 3 -> 00 00 03 0x). */
function escapeRbsp(header: number, rbsp: Uint8Array): Uint8Array {
  const out: number[] = [header];
  let zeros = 0;
  for (const byte of rbsp) {
    if (zeros >= 2 && byte <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(byte);
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}
