// One H.264 keyframe as a self-contained Annex B access unit (ITU-T H.264 Annex B): what a raw `-f h264` decoder
// reads, so keyframes of different publishes can follow one another in one input.
import { RemuxError } from "./errors.ts";

const START_CODE = [0, 0, 0, 1];
/** An access unit delimiter (NAL type 9, primary_pic_type 0: I slices): it marks where each keyframe starts. */
const ACCESS_UNIT_DELIMITER = [0, 0, 0, 1, 0x09, 0x10];

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
 * The keyframe `sample` (NAL units with `lengthSize`-byte lengths, as FLV and MP4 carry them) as Annex B: an access
 * unit delimiter, the configuration's SPS and PPS, then the sample's NAL units, each after a start code.
 */
export function keyframeAnnexB(avcC: Uint8Array, sample: Uint8Array): Uint8Array {
  const { lengthSize, parameterSets } = readAvcC(avcC);
  const nals: Uint8Array[] = [...parameterSets];
  for (let at = 0; at < sample.byteLength; ) {
    if (at + lengthSize > sample.byteLength) throw new RemuxError("MALFORMED_FLV", "a keyframe's NAL unit length is truncated");
    let length = 0;
    for (let i = 0; i < lengthSize; i++) length = length * 256 + sample[at + i]!;
    at += lengthSize;
    if (at + length > sample.byteLength) throw new RemuxError("MALFORMED_FLV", "a keyframe's NAL unit overruns the frame");
    // The sample's own delimiter, if any, is dropped: one per access unit, the one written first.
    if (length > 0 && (sample[at]! & 0x1f) !== 9) nals.push(sample.subarray(at, at + length));
    at += length;
  }
  const out = new Uint8Array(ACCESS_UNIT_DELIMITER.length + nals.reduce((sum, nal) => sum + START_CODE.length + nal.byteLength, 0));
  out.set(ACCESS_UNIT_DELIMITER);
  let at = ACCESS_UNIT_DELIMITER.length;
  for (const nal of nals) {
    out.set(START_CODE, at);
    out.set(nal, at + START_CODE.length);
    at += START_CODE.length + nal.byteLength;
  }
  return out;
}
