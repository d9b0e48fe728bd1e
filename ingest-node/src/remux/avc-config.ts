// Reads what an MP4 video sample entry needs from an AVCDecoderConfigurationRecord (ISO 14496-15): the picture size.
import { parseSps, type SpsInfo, unescapeRbsp } from "../packager/h264-sps.ts";
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
  let sps: SpsInfo;
  try {
    sps = parseSps(unescapeRbsp(avcC.subarray(9, 8 + length)));
  } catch (error) {
    if (error instanceof RangeError) throw new RemuxError("BAD_CONFIG", "AVC sequence header: the SPS is truncated");
    throw error;
  }
  const { width, height, sarWidth, sarHeight } = sps;
  if (!(width > 0 && height > 0)) throw new RemuxError("BAD_CONFIG", `the SPS declares a ${width}x${height} picture`);
  return { avcC: avcC.slice(), width, height, sarWidth, sarHeight };
}
