// Reads an MPEG-4 AudioSpecificConfig (ISO 14496-3 1.6.2.1): what an mp4a sample entry declares.
import { RemuxError } from "./errors.ts";

/** An AAC configuration as the init segment declares it. */
export interface AacConfig {
  /** The AudioSpecificConfig bytes, as the FLV AAC sequence header carries them. */
  asc: Uint8Array;
  objectType: number;
  /** Core sampling rate in Hz (the track's timescale: one AAC frame is 1024 of its samples). */
  sampleRate: number;
  channels: number;
}

const RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** Parses an AudioSpecificConfig; throws BAD_CONFIG on one it cannot use. */
export function parseAacConfig(asc: Uint8Array): AacConfig {
  if (asc.byteLength < 2) throw new RemuxError("BAD_CONFIG", `AAC sequence header of ${asc.byteLength} bytes`);
  let bit = 0;
  const bits = (count: number): number => {
    let value = 0;
    for (let i = 0; i < count; i++, bit++) {
      const byte = asc[bit >> 3];
      if (byte === undefined) throw new RemuxError("BAD_CONFIG", "AAC sequence header is truncated");
      value = value * 2 + ((byte >> (7 - (bit & 7))) & 1);
    }
    return value;
  };
  let objectType = bits(5);
  if (objectType === 31) objectType = 32 + bits(6);
  const rateIndex = bits(4);
  const sampleRate = rateIndex === 15 ? bits(24) : RATES[rateIndex];
  const channelConfig = bits(4);
  if (!sampleRate) throw new RemuxError("BAD_CONFIG", `AAC sampling frequency index ${rateIndex}`);
  // Channel configuration 0 (a program config element) and 7 (7.1) are rare from encoders; 7 means 8 channels.
  const channels = channelConfig === 7 ? 8 : channelConfig || 2;
  return { asc: asc.slice(), objectType, sampleRate, channels };
}
