// Cost per viewer-hour at the edge, on paper: requests a player makes per minute per latency mode (derived from
// segment/part durations, and counted in a real Chromium session on the watch page when the run has time) times
// Cloudflare's published prices.
import { type BrowserContext, chromium } from "playwright-core";
import { DEFAULT_TIMING } from "../protocol/latency.ts";
import { CHROMIUM_ARGS, chromiumPath } from "../scripts/lib/browser.ts";
import type { BenchSystem } from "./edge-system.ts";
import { type Mode, MODES } from "./latency.ts";
import { sleep } from "./stats.ts";

/** Published prices as of 2026 (check current pricing): USD. */
export const PRICES = {
  workersPerMillion: 0.3,
  durableObjectRequestsPerMillion: 0.15,
  /** Durable Object duration: per million GB-s (objects are billed at 128 MB while active). */
  durableObjectGbSecondsPerMillion: 12.5,
  r2ClassBPerMillion: 0.36,
  r2ClassAPerMillion: 4.5,
  egressPerGB: 0,
  source:
    "Cloudflare's published prices as of 2026 (Workers Paid, Durable Objects, R2) — check current pricing. Included monthly allowances (10 M Worker requests, 1 M DO requests, 400k GB-s, 10 M Class B, 1 M Class A) are ignored: this is the marginal cost.",
};

/** Requests one viewer makes per minute. */
export interface RequestRate {
  playlist: number;
  media: number;
  /** Watch page status polls and anything else (measured only). */
  other: number;
}

/** What Chromium fetched on the watch page, per minute. */
export interface MeasuredSession {
  mode: Mode;
  windowS: number;
  counts: Record<string, number>;
  perMinute: RequestRate;
}

/** One row of the cost table. */
export interface CostRow {
  mode: Mode;
  basis: "derived" | "measured";
  perMinute: RequestRate;
  /** USD per 1,000 viewer-hours. */
  workers: number;
  durableObject: number;
  /** Every media request missing the Cache API (worst case); a hit costs no R2 operation. */
  r2WorstCase: number;
  total: number;
  totalWorstCase: number;
  /** Durable Object requests per second per viewer (the stream's object sees all of them until the relay tier). */
  doRequestsPerSecPerViewer: number;
}

/** Ingest-side cost of one stream-hour (uploads: Worker + DO request + R2 Class A write each). */
export interface StreamHourRow {
  mode: Mode;
  renditions: number;
  uploadsPerHour: number;
  usd: number;
  doDurationUsd: number;
}

export interface CostResult {
  prices: typeof PRICES;
  derived: Record<Mode, RequestRate>;
  measured: MeasuredSession[];
  rows: CostRow[];
  streamHour: StreamHourRow[];
  notes: string[];
}

export interface CostOptions {
  /** Seconds of playback to count per mode in Chromium; 0 skips the browser. */
  browserWindowS: number;
  log: (line: string) => void;
}

/** An hls.js-like client: one playlist reload per target duration (per part when blocking), one media request per segment (per part in LL-HLS). */
export function derivedRate(mode: Mode): RequestRate {
  const timing = DEFAULT_TIMING[mode];
  const unit = timing.partTarget ?? timing.segmentTarget;
  return { playlist: 60 / unit, media: 60 / unit, other: 0 };
}

function classify(url: string): string {
  const path = new URL(url).pathname;
  if (path.endsWith("/master.m3u8")) return "master";
  if (path.endsWith("/index.m3u8")) return new URL(url).searchParams.has("_HLS_msn") ? "playlist-blocking" : "playlist";
  if (path.endsWith("/init.mp4")) return "init";
  if (/\/seg-\d+\.m4s$/.test(path)) return "segment";
  if (/\/part-\d+\.\d+\.m4s$/.test(path)) return "part";
  if (path.endsWith("/status.json")) return "status";
  if (path.startsWith("/watch/")) return "page";
  return "other";
}

/** Plays each mode's stream on the watch page in headless Chromium and counts requests over `windowS`. */
async function measureSessions(bench: BenchSystem, windowS: number, log: (line: string) => void): Promise<MeasuredSession[]> {
  const sessions: MeasuredSession[] = [];
  for (const mode of MODES) {
    const stream = await bench.createStream(mode, `bench cost ${mode}`);
    const publisher = bench.system.publish(stream.ingest_endpoint);
    let context: BrowserContext | null = null;
    try {
      await bench.waitForRenditions(stream.stream_id, 3, 30_000);
      context = await chromium.launchPersistentContext("", { executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
      const page = await context.newPage();
      const requests: { at: number; kind: string }[] = [];
      page.on("request", (request) => requests.push({ at: Date.now(), kind: classify(request.url()) }));
      await page.goto(bench.url(`/watch/${stream.stream_id}`), { waitUntil: "domcontentloaded", timeout: 30_000 });
      const deadline = Date.now() + 40_000;
      while (Date.now() < deadline && !requests.some((r) => r.kind === "segment" || r.kind === "part")) await sleep(200);
      const start = Date.now();
      await sleep(windowS * 1000);
      const end = Date.now();
      const counts: Record<string, number> = {};
      for (const r of requests) if (r.at >= start && r.at < end) counts[r.kind] = (counts[r.kind] ?? 0) + 1;
      const per = (n: number) => Math.round((n / windowS) * 60 * 10) / 10;
      const playlist = (counts.playlist ?? 0) + (counts["playlist-blocking"] ?? 0) + (counts.master ?? 0);
      const media = (counts.segment ?? 0) + (counts.part ?? 0) + (counts.init ?? 0);
      const other = Object.entries(counts)
        .filter(([k]) => !["playlist", "playlist-blocking", "master", "segment", "part", "init"].includes(k))
        .reduce((s, [, n]) => s + n, 0);
      sessions.push({ mode, windowS, counts, perMinute: { playlist: per(playlist), media: per(media), other: per(other) } });
      log(`cost ${mode}: Chromium made ${JSON.stringify(counts)} in ${windowS} s`);
    } finally {
      await context?.close().catch(() => undefined);
      await publisher.stop();
      await bench.stopStream(stream.stream_id).catch(() => undefined);
    }
  }
  return sessions;
}

function row(mode: Mode, basis: CostRow["basis"], rate: RequestRate): CostRow {
  const perHour = (perMinute: number) => perMinute * 60 * 1000; // per 1,000 viewer-hours
  const workers = (perHour(rate.playlist + rate.media + rate.other) / 1e6) * PRICES.workersPerMillion;
  const durableObject = (perHour(rate.playlist) / 1e6) * PRICES.durableObjectRequestsPerMillion;
  const r2WorstCase = (perHour(rate.media) / 1e6) * PRICES.r2ClassBPerMillion;
  return {
    mode,
    basis,
    perMinute: rate,
    workers,
    durableObject,
    r2WorstCase,
    total: workers + durableObject,
    totalWorstCase: workers + durableObject + r2WorstCase,
    doRequestsPerSecPerViewer: rate.playlist / 60,
  };
}

/** Builds the cost tables (and counts Chromium's requests when `browserWindowS` > 0). */
export async function runCost(bench: BenchSystem | null, options: CostOptions): Promise<CostResult> {
  const derived = Object.fromEntries(MODES.map((m) => [m, derivedRate(m)])) as Record<Mode, RequestRate>;
  const measured = bench && options.browserWindowS > 0 ? await measureSessions(bench, options.browserWindowS, options.log) : [];
  const rows: CostRow[] = [];
  for (const mode of MODES) {
    rows.push(row(mode, "derived", derived[mode]));
    const session = measured.find((s) => s.mode === mode);
    if (session) rows.push(row(mode, "measured", session.perMinute));
  }
  // Uploads: every rendition uploads each segment, and each part in interactive mode (4 renditions: a 720p source
  // with the default ladder gives source copy + 720p + 480p + 360p).
  const renditions = 4;
  const streamHour = MODES.map((mode) => {
    const timing = DEFAULT_TIMING[mode];
    const perRendition = 3600 / timing.segmentTarget + (timing.partTarget ? 3600 / timing.partTarget : 0);
    const uploads = perRendition * renditions;
    const usd = (uploads / 1e6) * (PRICES.workersPerMillion + PRICES.durableObjectRequestsPerMillion + PRICES.r2ClassAPerMillion);
    const doDurationUsd = ((3600 * 0.128) / 1e6) * PRICES.durableObjectGbSecondsPerMillion;
    return { mode, renditions, uploadsPerHour: uploads, usd, doDurationUsd };
  });
  return {
    prices: PRICES,
    derived,
    measured,
    rows,
    streamHour,
    notes: [
      "Every viewer request runs the Worker; playlist requests also reach the stream's Durable Object (no playlist caching yet, DESIGN.md); media is served through the Cache API, so R2 Class B operations happen only on a cache miss (per colo and object, not per viewer) — the worst-case column charges one per media request.",
      "Egress is free on Workers and R2. Workers CPU time (Standard usage model) is not included: it cannot be measured under wrangler dev.",
      "Durable Object duration is billed per object while active (128 MB): one object per stream, so it is a per-stream cost (see the stream-hour table), not per viewer.",
    ],
  };
}
