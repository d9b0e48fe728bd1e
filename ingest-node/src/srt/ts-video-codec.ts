// Finds which video codec an MPEG-TS stream declares (PAT -> PMT stream_type), before anything is demuxed.

/** The video codec a TS program declares, "none" without video, or null while the PMT was not seen yet. */
export type TsVideoCodec = "h264" | "hevc" | "other" | "none";

const PACKET = 188;
const SYNC = 0x47;
/** PMT stream_type values (ISO/IEC 13818-1, table 2-34). */
const STREAM_TYPES: Record<number, TsVideoCodec> = { 27: "h264", 36: "hevc", 1: "other", 2: "other", 16: "other", 51: "other" };

/** Scans 188-byte TS packets for the first program's PMT; null until both PAT and PMT were seen in `data`. */
export function tsVideoCodec(data: Uint8Array): TsVideoCodec | null {
  let pmtPid: number | null = null;
  for (let pass = 0; pass < 2; pass++) {
    for (let at = data.indexOf(SYNC); at >= 0 && at + PACKET <= data.length; at += PACKET) {
      if (data[at] !== SYNC) {
        const next = data.indexOf(SYNC, at + 1);
        if (next < 0) break;
        at = next - PACKET;
        continue;
      }
      const pid = ((data[at + 1]! & 0x1f) << 8) | data[at + 2]!;
      const unitStart = (data[at + 1]! & 0x40) !== 0;
      if (!unitStart) continue;
      const adaptation = (data[at + 3]! >> 4) & 0x3;
      let offset = at + 4;
      if (adaptation === 2) continue;
      if (adaptation === 3) offset += 1 + data[offset]!;
      offset += 1 + (data[offset] ?? 0); // pointer_field
      const end = at + PACKET;
      if (offset + 8 > end) continue;
      const sectionLength = ((data[offset + 1]! & 0x0f) << 8) | data[offset + 2]!;
      const sectionEnd = Math.min(end, offset + 3 + sectionLength - 4); // without the CRC
      if (pid === 0 && data[offset] === 0x00 && pmtPid === null) {
        for (let p = offset + 8; p + 4 <= sectionEnd; p += 4) {
          const program = (data[p]! << 8) | data[p + 1]!;
          if (program !== 0) {
            pmtPid = ((data[p + 2]! & 0x1f) << 8) | data[p + 3]!;
            break;
          }
        }
      } else if (pmtPid !== null && pid === pmtPid && data[offset] === 0x02) {
        const infoLength = ((data[offset + 10]! & 0x0f) << 8) | data[offset + 11]!;
        let audioOnly = true;
        for (let p = offset + 12 + infoLength; p + 5 <= sectionEnd; ) {
          const type = data[p]!;
          const codec = STREAM_TYPES[type];
          if (codec) return codec;
          if (type !== 0x0f && type !== 0x11 && type !== 0x03 && type !== 0x04 && type !== 0x06 && type !== 0x15) audioOnly = false;
          p += 5 + (((data[p + 3]! & 0x0f) << 8) | data[p + 4]!);
        }
        return audioOnly ? "none" : "other";
      }
    }
    // The PMT may precede the PAT in the first packets: a second pass finds it once the PAT gave its PID.
    if (pmtPid === null) return null;
  }
  return null;
}
