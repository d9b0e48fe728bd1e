// Upload metadata builders shared by the live-window tests.
import type { InitMeta, PartMeta, SegmentMeta } from "../../../../protocol/ingest.ts";
import { addInit, addPart, addSegment } from "../../../../edge/src/live/window.ts";
import type { LiveWindowState } from "../../../../edge/src/live/window.ts";

/** Capture time of msn 0 in the fixtures. */
export const T0 = Date.parse("2026-11-25T12:00:00.000Z");

/** Init metadata of a 360p-ish rendition. */
export function initMeta(epoch: number, overrides: Partial<InitMeta> = {}): InitMeta {
  return {
    epoch,
    codecs: "avc1.42c01e,mp4a.40.2",
    width: 640,
    height: 360,
    bandwidth: 664_000,
    frame_rate: 30,
    ...overrides,
  };
}

/** Segment metadata; its program date time follows from msn x duration. */
export function segmentMeta(msn: number, options: { epoch?: number; duration?: number; parts?: number } = {}): SegmentMeta {
  const duration = options.duration ?? 2;
  return {
    epoch: options.epoch ?? 1,
    msn,
    duration,
    program_date_time: new Date(T0 + msn * duration * 1000).toISOString(),
    parts: options.parts ?? 0,
  };
}

/** Part metadata; part 0 starts with a keyframe unless told otherwise. */
export function partMeta(msn: number, part: number, options: { epoch?: number; duration?: number; independent?: boolean } = {}): PartMeta {
  return {
    epoch: options.epoch ?? 1,
    msn,
    part,
    duration: options.duration ?? 0.5,
    independent: options.independent ?? part === 0,
  };
}

/** Adds four 0.5 s parts then the 2 s segment, for each msn in [from, to]. */
export function feedLowLatency(state: LiveWindowState, rendition: string, from: number, to: number, epoch = 1): void {
  for (let msn = from; msn <= to; msn += 1) {
    for (let part = 0; part < 4; part += 1) addPart(state, rendition, partMeta(msn, part, { epoch }));
    addSegment(state, rendition, segmentMeta(msn, { epoch, parts: 4 }));
  }
}

/** Adds plain segments (no parts) for each msn in [from, to]. */
export function feedSegments(state: LiveWindowState, rendition: string, from: number, to: number, options: { epoch?: number; duration?: number } = {}): void {
  for (let msn = from; msn <= to; msn += 1) addSegment(state, rendition, segmentMeta(msn, options));
}

/** Adds the three test-ladder renditions at epoch 1. */
export function addLadder(state: LiveWindowState): void {
  addInit(state, "360p", initMeta(1));
  addInit(state, "240p", initMeta(1, { width: 426, height: 240, bandwidth: 414_000, codecs: "avc1.42c015,mp4a.40.2" }));
  addInit(state, "160p", initMeta(1, { width: 284, height: 160, bandwidth: 248_000, codecs: "avc1.42c00c,mp4a.40.2", frame_rate: 29.97 }));
}

/** The raw lines of a playlist, for tags hls-parser does not model. */
export function lines(text: string): string[] {
  return text.trimEnd().split("\n");
}
