// Live-edge lag per latency mode: a real publish (FFmpeg test pattern -> RTMP -> ingest node -> edge), one
// rendition's media playlist polled (standard, low) or blocked on (interactive, `_HLS_msn`/`_HLS_part` of the preload
// hint); whenever a segment or part becomes listed, wall-clock now minus the program-date-time of its first frame
// (start) and of its end (last frame).
import type { BenchSystem } from "./edge-system.ts";
import { itemKey, parseTimeline } from "./hls.ts";
import { type Distribution, distribution, sleep } from "./stats.ts";

export type Mode = "standard" | "low" | "interactive";
export const MODES: Mode[] = ["standard", "low", "interactive"];

/** DESIGN/issue targets on the last-frame (end) lag, p95, in ms. */
export const LATENCY_TARGET_MS: Record<Mode, number> = { standard: 6500, low: 2500, interactive: 1000 };

/** One newly listed segment or part. */
export interface LagSample {
  /** Seconds since the publish started. */
  t: number;
  kind: "segment" | "part";
  msn: number;
  part: number;
  /** now - program-date-time of its first frame, ms. */
  startLagMs: number;
  /** now - program-date-time of its end, ms. */
  endLagMs: number;
}

/** The result for one mode. */
export interface ModeLatency {
  mode: Mode;
  rendition: string;
  publishedS: number;
  /** Publish start -> master playlist lists the renditions. */
  firstMasterMs: number | null;
  /** Publish start -> first complete segment listed in the media playlist. */
  firstSegmentMs: number | null;
  /** Publish start -> first LL-HLS part listed (interactive only). */
  firstPartMs: number | null;
  /** What the figures are about: parts for interactive, segments otherwise. */
  unit: "part" | "segment";
  samples: LagSample[];
  /** Steady state (the broadcast's first segment and its parts excluded), in ms. */
  start: Distribution;
  end: Distribution;
  /** Segment figures too for interactive (its segments are listed when their last part is). */
  segmentEnd: Distribution | null;
  targetMs: number;
  pass: boolean | null;
  playlistRequests: number;
  errors: number;
}

export interface LatencyResult {
  pollIntervalMs: number;
  modes: ModeLatency[];
}

export interface LatencyOptions {
  /** Seconds to publish per mode. */
  durationS: number;
  pollIntervalMs: number;
  modes: Mode[];
  log: (line: string) => void;
}

/** Runs the latency benchmark for every mode, one after the other, on the same system. */
export async function runLatency(bench: BenchSystem, options: LatencyOptions): Promise<LatencyResult> {
  const modes: ModeLatency[] = [];
  for (const mode of options.modes) {
    modes.push(await measureMode(bench, mode, options));
    const m = modes.at(-1)!;
    options.log(`latency ${mode}: ${m.unit}s n=${m.end.n}, end-lag p50 ${m.end.p50} ms p95 ${m.end.p95} ms, first segment ${m.firstSegmentMs} ms`);
  }
  return { pollIntervalMs: options.pollIntervalMs, modes };
}

async function measureMode(bench: BenchSystem, mode: Mode, options: LatencyOptions): Promise<ModeLatency> {
  const stream = await bench.createStream(mode, `bench latency ${mode}`);
  const t0 = Date.now();
  const publisher = bench.system.publish(stream.ingest_endpoint);
  const deadline = t0 + options.durationS * 1000;
  const samples: LagSample[] = [];
  const seen = new Set<string>();
  let firstMasterMs: number | null = null;
  let firstSegmentMs: number | null = null;
  let firstPartMs: number | null = null;
  let requests = 0;
  let errors = 0;
  let rendition = "";
  try {
    const renditions = await bench.waitForRenditions(stream.stream_id, 3, 30_000);
    firstMasterMs = Date.now() - t0;
    const chosen = renditions.find((r) => r.name !== "source") ?? renditions[0]!;
    rendition = chosen.name;
    let hint: { msn: number; part: number } | null = null;
    while (Date.now() < deadline) {
      const blocking = mode === "interactive" && hint !== null;
      const url = blocking ? `${chosen.url}?_HLS_msn=${hint!.msn}&_HLS_part=${hint!.part}` : chosen.url;
      const tickStart = Date.now();
      requests += 1;
      let text: string | null = null;
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        const body = await response.text();
        if (response.ok) text = body;
        else {
          errors += 1;
          hint = null;
        }
      } catch {
        errors += 1;
        hint = null;
      }
      const now = Date.now();
      if (text !== null) {
        const timeline = parseTimeline(text);
        hint = timeline.hint;
        for (const item of timeline.items) {
          const key = itemKey(item);
          if (seen.has(key)) continue;
          seen.add(key);
          if (item.kind === "segment" && firstSegmentMs === null) firstSegmentMs = now - t0;
          if (item.kind === "part" && firstPartMs === null) firstPartMs = now - t0;
          if (item.startMs === null) continue;
          samples.push({
            t: (now - t0) / 1000,
            kind: item.kind,
            msn: item.msn,
            part: item.part,
            startLagMs: Math.round(now - item.startMs),
            endLagMs: Math.round(now - (item.startMs + item.durationS * 1000)),
          });
        }
        if (timeline.ended) break;
      }
      // Blocking requests return when something new is listed; plain polls wait for the next tick.
      if (!(mode === "interactive" && hint !== null && text !== null)) {
        await sleep(Math.max(0, options.pollIntervalMs - (Date.now() - tickStart)));
      }
    }
  } finally {
    await publisher.stop();
    await bench.stopStream(stream.stream_id).catch(() => undefined);
  }
  const unit = mode === "interactive" ? "part" : "segment";
  const firstMsn = Math.min(...samples.map((s) => s.msn));
  const steady = samples.filter((s) => s.msn !== firstMsn);
  const ofUnit = steady.filter((s) => s.kind === unit);
  const end = distribution(ofUnit.map((s) => s.endLagMs));
  const targetMs = LATENCY_TARGET_MS[mode];
  return {
    mode,
    rendition,
    publishedS: options.durationS,
    firstMasterMs,
    firstSegmentMs,
    firstPartMs,
    unit,
    samples,
    start: distribution(ofUnit.map((s) => s.startLagMs)),
    end,
    segmentEnd: unit === "part" ? distribution(steady.filter((s) => s.kind === "segment").map((s) => s.endLagMs)) : null,
    targetMs,
    pass: end.p95 === null ? null : end.p95 <= targetMs,
    playlistRequests: requests,
    errors,
  };
}
