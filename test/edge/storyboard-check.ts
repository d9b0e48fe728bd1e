// Checks of a storyboard as a player would read it, shared by the edge and e2e tests: a strict WebVTT reading (the
// header, blank-line-separated cues, `hh:mm:ss.ttt --> hh:mm:ss.ttt` timings, start before end) of a thumbnail track
// whose cue payloads are `uri#xywh=x,y,w,h`, and a JPEG's pixel size from its SOF marker.

/** One cue of a thumbnail track. */
export interface ThumbnailCue {
  start: number;
  end: number;
  uri: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

const TIMING = /^(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3}) --> (\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})$/;
const PAYLOAD = /^(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$/;

/** The cues of a WebVTT thumbnail track; throws naming the first line that breaks the format. */
export function parseThumbnailVtt(text: string): ThumbnailCue[] {
  if (!text.startsWith("WEBVTT") || !/^WEBVTT(?:[ \t][^\n]*)?\n/.test(text)) throw new Error("WebVTT: the first line must be WEBVTT");
  const blocks = text.replace(/\n+$/, "").split(/\n\n+/).slice(1);
  return blocks.map((block, i) => {
    const lines = block.split("\n");
    // An optional cue identifier comes before the timing line.
    const timingAt = lines[0]!.includes("-->") ? 0 : 1;
    const timing = TIMING.exec(lines[timingAt] ?? "");
    if (!timing) throw new Error(`WebVTT cue ${i}: bad timing line "${lines[timingAt]}"`);
    const seconds = (h: string, m: string, s: string, ms: string) => Number(h) * 3600 + Number(m) * 60 + Number(s) + Number(ms) / 1000;
    const start = seconds(timing[1]!, timing[2]!, timing[3]!, timing[4]!);
    const end = seconds(timing[5]!, timing[6]!, timing[7]!, timing[8]!);
    if (!(end > start)) throw new Error(`WebVTT cue ${i}: ends (${end}) before it starts (${start})`);
    const payload = lines.slice(timingAt + 1);
    const match = payload.length === 1 ? PAYLOAD.exec(payload[0]!) : null;
    if (!match) throw new Error(`WebVTT cue ${i}: payload is not one uri#xywh=x,y,w,h line: ${JSON.stringify(payload)}`);
    return { start, end, uri: match[1]!, x: Number(match[2]), y: Number(match[3]), width: Number(match[4]), height: Number(match[5]) };
  });
}

/** A JPEG's width and height from its first SOF marker; throws when the bytes are not a JPEG with one. */
export function jpegSize(bytes: Uint8Array): { width: number; height: number } {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new Error("not a JPEG (no SOI)");
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) throw new Error(`JPEG: no marker at byte ${at}`);
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    // SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: (bytes[at + 5]! << 8) | bytes[at + 6]!, width: (bytes[at + 7]! << 8) | bytes[at + 8]! };
    }
    at += 2 + length;
  }
  throw new Error("JPEG: no SOF marker");
}

/** The smallest bytes that read as a JPEG of `width`×`height`: SOI, an SOF0 segment, EOI (the edge never decodes). */
export function syntheticJpeg(width: number, height: number, label: number): Uint8Array {
  const sof = [0xff, 0xc0, 0x00, 0x11, 0x08, height >> 8, height & 0xff, width >> 8, width & 0xff, 0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
  return new Uint8Array([0xff, 0xd8, ...sof, 0xff, 0xfe, 0x00, 0x03, label & 0xff, 0xff, 0xd9]);
}
