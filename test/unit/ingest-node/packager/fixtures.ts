// Loads the recorded FFmpeg fixtures (test/fixtures/cmaf, made by make-fixtures.sh) and runs the packager over bytes.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { CmafPackagerOptions, PackagerEvent } from "../../../../ingest-node/src/packager/packager.ts";
import { CmafPackager } from "../../../../ingest-node/src/packager/packager.ts";
import { bytes } from "./mp4-builder.ts";

/** What make-fixtures.sh recorded from ffprobe and FFmpeg's HLS muxer beside each fixture. */
export interface FixtureFacts {
  codecs: string | null;
  streams: Array<{
    codec_type: "video" | "audio";
    codec_name: string;
    profile?: string;
    level?: number;
    width?: number;
    height?: number;
    r_frame_rate: string;
    start_time: string;
    duration: string;
  }>;
  format: { duration: string };
  keyframes: number[];
}

/** A fixture's bytes and recorded facts. */
export function loadFixture(name: string): { data: Uint8Array; facts: FixtureFacts } {
  const url = new URL(`../../../fixtures/cmaf/${name}`, import.meta.url);
  const data = new Uint8Array(readFileSync(fileURLToPath(`${url}.mp4`)));
  const facts = JSON.parse(readFileSync(fileURLToPath(`${url}.json`), "utf8")) as FixtureFacts;
  return { data, facts };
}

/** Runs a packager over `data` cut into chunks whose sizes `nextSize` picks. */
export function packageAll(
  data: Uint8Array,
  segmentTarget: number,
  nextSize: () => number = () => data.byteLength,
  parts = true,
  options: Partial<CmafPackagerOptions> = {},
): PackagerEvent[] {
  const packager = new CmafPackager({ segmentTarget, parts, ...options });
  const events: PackagerEvent[] = [];
  for (let at = 0; at < data.byteLength; ) {
    const size = Math.max(1, nextSize());
    events.push(...packager.push(data.subarray(at, at + size)));
    at += size;
  }
  events.push(...packager.end());
  return events;
}

/** A deterministic pseudo-random chunk size generator (1..max bytes). */
export function randomSizes(seed: number, max: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return 1 + (state % max);
  };
}

/** Top-level box types and byte ranges, read with a plain loop independent of the packager. */
export function topLevelBoxes(data: Uint8Array): Array<{ type: string; start: number; end: number }> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: Array<{ type: string; start: number; end: number }> = [];
  for (let at = 0; at < data.byteLength; ) {
    const size = view.getUint32(at);
    const type = String.fromCharCode(...data.subarray(at + 4, at + 8));
    out.push({ type, start: at, end: at + size });
    at += size;
  }
  return out;
}

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  return bytes(...parts);
}

/** The event type with the given discriminant. */
export type EventOf<T extends PackagerEvent["type"]> = Extract<PackagerEvent, { type: T }>;

/** Events of one type, narrowed. */
export function ofType<T extends PackagerEvent["type"]>(events: PackagerEvent[], type: T): Array<EventOf<T>> {
  return events.filter((event): event is EventOf<T> => event.type === type);
}
