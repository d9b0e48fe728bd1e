// A stream's health over time (`GET /streams/:id/health`): one sample per stream heartbeat of its ingest node, kept by
// the stream's Durable Object for the last hour and at most HEALTH_HISTORY_SAMPLES of them. Pure: what a sample holds,
// which samples a bounded history keeps, and which a `since` asks for.
import type { StreamHeartbeat } from "../../../protocol/ingest.ts";
import type { LiveWindowState } from "./window.ts";

/** How far back the history reaches. */
export const HEALTH_HISTORY_MS = 60 * 60 * 1000;
/** Default bound on the samples one stream keeps: an hour of the node's 2 s heartbeats. */
export const DEFAULT_HEALTH_HISTORY_SAMPLES = 1800;

/** One point of a stream's health. */
export interface HealthSample {
  /** When the edge received the heartbeat, ms since the epoch. */
  at: number;
  input_kbps: number;
  fps: number;
  /** The node's encoder speed (1 = real time). */
  encoder_speed: number;
  /** Seconds since the edge last listed media of the stream; null before any. */
  last_segment_age_s: number | null;
  /** Objects waiting in the node's upload queue. */
  upload_backlog: number;
  viewers: number;
  /**
   * Per rendition: seconds from the capture of the end of its newest listed segment (program date-time + duration)
   * to `at`. A rung that falls behind the others (a slow encoder, a stuck upload) shows here first; null without a
   * program date-time.
   */
  rendition_lag_s: Record<string, number | null>;
}

const tenths = (seconds: number): number => Math.round(seconds * 10) / 10;

/** The sample of one heartbeat received at `now`. */
export function healthSample(
  now: number,
  heartbeat: StreamHeartbeat,
  window: LiveWindowState | null,
  lastMediaAt: number | null,
  viewers: number,
): HealthSample {
  const lag: Record<string, number | null> = {};
  for (const rendition of window?.renditions ?? []) {
    const newest = rendition.segments.at(-1);
    const captured = newest?.programDateTime ? Date.parse(newest.programDateTime) : Number.NaN;
    lag[rendition.name] = newest && Number.isFinite(captured) ? tenths(Math.max(0, (now - captured) / 1000 - newest.duration)) : null;
  }
  return {
    at: now,
    input_kbps: Math.round(heartbeat.input_kbps),
    fps: Math.round(heartbeat.fps * 100) / 100,
    encoder_speed: Math.round(heartbeat.speed * 100) / 100,
    last_segment_age_s: lastMediaAt === null ? null : tenths(Math.max(0, (now - lastMediaAt) / 1000)),
    upload_backlog: heartbeat.backlog,
    viewers,
    rendition_lag_s: lag,
  };
}

/** What a ring of at most `maxSamples` keeps once sample number `newestSeq` was added at `now`: both bounds hold. */
export function ringBounds(now: number, newestSeq: number, maxSamples: number): { minAt: number; minSeq: number } {
  return { minAt: now - HEALTH_HISTORY_MS, minSeq: newestSeq - maxSamples + 1 };
}

/** The `at` a request's `since` (ISO-8601 time or ms since the epoch; absent: an hour ago) starts from, or null when malformed. */
export function sinceParameter(raw: string | undefined, now: number): number | null {
  if (raw === undefined || raw === "") return now - HEALTH_HISTORY_MS;
  // Date.parse alone would take "-5" or "2026" as a year: only an ISO date-time or plain digits.
  const at = /^\d{1,15}$/.test(raw) ? Number(raw) : /^\d{4}-\d{2}-\d{2}T/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (!Number.isFinite(at)) return null;
  return Math.max(at, now - HEALTH_HISTORY_MS);
}
