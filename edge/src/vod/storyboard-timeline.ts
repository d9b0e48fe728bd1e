// Where each publish epoch lies in a recording: read from the recording's own media playlist, whose segment URIs name
// their epoch (storage/media.ts), so the storyboard's cues line up with exactly what the player plays.
import { addressOfUrlPath } from "../storage/media.ts";
import type { EpochSpan } from "./storyboard-vtt.ts";

/** The epochs of a VOD media playlist, in order, with their start and end on its timeline, and its duration. */
export function epochSpans(playlist: string): { spans: EpochSpan[]; duration: number } {
  const spans: EpochSpan[] = [];
  let time = 0;
  let pending: number | null = null;
  for (const raw of playlist.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#EXTINF:")) {
      pending = Number.parseFloat(line.slice("#EXTINF:".length));
      continue;
    }
    if (line === "" || line.startsWith("#") || pending === null || !Number.isFinite(pending)) continue;
    const address = addressOfUrlPath(line.split("?")[0]!);
    const duration = pending;
    pending = null;
    if (!address) continue;
    const last = spans.at(-1);
    if (last && last.epoch === address.epoch) last.end = time + duration;
    else spans.push({ epoch: address.epoch, start: time, end: time + duration });
    time += duration;
  }
  return { spans, duration: time };
}
