// One H.264 keyframe as a self-contained Annex B access unit (ITU-T H.264 Annex B) for a long-lived raw `-f h264`
// decoder that keyframes of every publish follow one another into (the thumbnail pipe): parameter sets first, exactly
// one picture, and nothing that makes the decoder hold that picture back.
import { withoutReordering } from "../packager/h264-sps-reordering.ts";
import { BitReader, SpsTruncated, unescapeRbsp } from "../packager/h264-sps.ts";
import { RemuxError } from "./errors.ts";

const START_CODE = [0, 0, 0, 1];
/** An access unit delimiter (NAL type 9, primary_pic_type 0: I slices), written after each keyframe (see keyframeAnnexB). */
export const ACCESS_UNIT_DELIMITER = Uint8Array.of(0, 0, 0, 1, 0x09, 0x10);
/** NAL unit types kept: non-IDR and IDR slices, SEI, SPS, PPS (data partitions FFmpeg does not decode, the rest is not needed). */
const KEPT = new Set([1, 5, 6, 7, 8]);

/** The SPS and PPS NAL units of an AVCDecoderConfigurationRecord, and its NAL length size. */
function readAvcC(avcC: Uint8Array): { lengthSize: number; parameterSets: Uint8Array[] } {
  const fail = () => new RemuxError("BAD_CONFIG", "AVC sequence header: a parameter set overruns it");
  if (avcC.byteLength < 7) throw fail();
  const lengthSize = (avcC[4]! & 0x03) + 1;
  const parameterSets: Uint8Array[] = [];
  let at = 5;
  for (const countMask of [0x1f, 0xff]) {
    if (at >= avcC.byteLength) throw fail();
    const count = avcC[at]! & countMask;
    at += 1;
    for (let i = 0; i < count; i++) {
      if (at + 2 > avcC.byteLength) throw fail();
      const length = (avcC[at]! << 8) | avcC[at + 1]!;
      if (at + 2 + length > avcC.byteLength) throw fail();
      parameterSets.push(avcC.subarray(at + 2, at + 2 + length));
      at += 2 + length;
    }
  }
  return { lengthSize, parameterSets };
}

/**
 * The keyframe `sample` (NAL units with `lengthSize`-byte lengths, as FLV and MP4 carry them) as Annex B: the
 * configuration's SPS and PPS, the NAL units of the sample's first picture, each after a start code, then an access
 * unit delimiter. Why the delimiter comes last: FFmpeg's raw H.264 parser ends an access unit only when the next one
 * starts, so without it each picture would wait for the next keyframe. Why one picture: the pipe pairs pictures with
 * keyframes by order, so a hostile keyframe holding two would shift every later thumbnail to another publish; a slice
 * whose first_mb_in_slice does not follow the one before it, or an SEI or parameter set after a slice, starts the next
 * picture (H.264 7.4.1.2.3-4), and it and everything after it are dropped. Every SPS loses its reordering
 * (withoutReordering: the decoder would otherwise hold B-frame sources' pictures). Throws RemuxError when the sample
 * or configuration cannot be read, an SPS cannot be rewritten, or the sample holds no slice or a slice that is not
 * intra-coded (an intra-refresh "keyframe": no decoder shows it alone, and the pipe would wait for it until its timeout).
 */
export function keyframeAnnexB(avcC: Uint8Array, sample: Uint8Array): Uint8Array {
  const { lengthSize, parameterSets } = readAvcC(avcC);
  const nals: Uint8Array[] = parameterSets.map(rewriteSps);
  let lastFirstMb = -1;
  for (let at = 0; at < sample.byteLength; ) {
    if (at + lengthSize > sample.byteLength) throw new RemuxError("MALFORMED_FLV", "a keyframe's NAL unit length is truncated");
    let length = 0;
    for (let i = 0; i < lengthSize; i++) length = length * 256 + sample[at + i]!;
    at += lengthSize;
    if (at + length > sample.byteLength) throw new RemuxError("MALFORMED_FLV", "a keyframe's NAL unit overruns the frame");
    const nal = sample.subarray(at, at + length);
    at += length;
    const type = length > 0 ? nal[0]! & 0x1f : 0;
    if (!KEPT.has(type)) continue;
    if (type === 1 || type === 5) {
      const { firstMb, sliceType } = sliceHead(nal);
      if (firstMb <= lastFirstMb) break;
      // slice_type % 5: 2 is I, 4 is SI (H.264 Table 7-6).
      if (sliceType % 5 !== 2 && sliceType % 5 !== 4) throw new RemuxError("MALFORMED_FLV", "a keyframe holds a slice that is not intra-coded");
      lastFirstMb = firstMb;
    } else if (lastFirstMb >= 0) break;
    nals.push(type === 7 ? rewriteSps(nal) : nal);
  }
  if (lastFirstMb < 0) throw new RemuxError("MALFORMED_FLV", "a keyframe holds no slice");
  const out = new Uint8Array(nals.reduce((sum, nal) => sum + START_CODE.length + nal.byteLength, 0) + ACCESS_UNIT_DELIMITER.length);
  let at = 0;
  for (const nal of nals) {
    out.set(START_CODE, at);
    out.set(nal, at + START_CODE.length);
    at += START_CODE.length + nal.byteLength;
  }
  out.set(ACCESS_UNIT_DELIMITER, at);
  return out;
}

/** `nal` as withoutReordering makes it when it is an SPS (other parameter sets as they are). */
function rewriteSps(nal: Uint8Array): Uint8Array {
  if ((nal[0]! & 0x1f) !== 7) return nal;
  const sps = withoutReordering(nal);
  if (sps === null) throw new RemuxError("BAD_CONFIG", "a keyframe's SPS cannot be read to its end");
  return sps;
}

/** A slice's first_mb_in_slice and slice_type, the first two Exp-Golomb codes after its NAL header (8 bytes hold them). */
function sliceHead(nal: Uint8Array): { firstMb: number; sliceType: number } {
  const r = new BitReader(unescapeRbsp(nal.subarray(1, 9)));
  // A code of more than 24 leading zeros (a value of 2^25 - 1 or more) is no slice header of a picture H.264 can code.
  const ue = () => {
    const value = r.ue();
    if (value >= 2 ** 25 - 1) throw new RemuxError("MALFORMED_FLV", "a keyframe's slice header is not H.264");
    return value;
  };
  try {
    const firstMb = ue();
    return { firstMb, sliceType: ue() };
  } catch (error) {
    if (!(error instanceof SpsTruncated)) throw error;
    throw new RemuxError("MALFORMED_FLV", "a keyframe's slice header is truncated or not H.264");
  }
}
