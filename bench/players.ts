// Player latency: real players in Chromium on a real publish (FFmpeg test pattern -> RTMP -> ingest node -> wrangler
// dev), interactive mode: hls.js (the watch page, its settings), Shaka Player (lowLatencyMode) and video.js (VHS), each
// for `playS` seconds on the test ladder (part_target 0.5, and 0.2 for hls.js) and on the default ladder. Glass-to-glass
// = now - program date-time of the frame on screen, sampled every 250 ms; stalls (`waiting` after the first frame);
// every 4xx/5xx the page received. Then, per latency mode: time to live (publisher start -> a master playlist whose
// first rendition lists a playable part, or segment) and time to first frame (page load -> first frame, watch page).
import { loadavg } from "node:os";
import type { Page } from "playwright-core";
import { launchBrowser, type TestBrowser } from "../scripts/lib/browser.ts";
import {
  type EdgeResponse,
  openPlayer,
  PART_URL,
  type PlayerName,
  isSeekInBuffer,
  type StallRecord,
  samplePlayer,
  waitForFirstFrame,
} from "../scripts/lib/player-pages.ts";
import { startSystem, type TestSystem } from "../test/e2e/harness.ts";
import type { Mode } from "./latency.ts";
import { type Distribution, distribution, round, sleep } from "./stats.ts";

/** Targets on the test ladder: glass-to-glass p95 (s) per player and part target; 0 stalls for all; Shaka 0 4xx. */
export const PLAYER_TARGETS: { player: PlayerName; partTarget: number; p95S: number }[] = [
  { player: "hls.js", partTarget: 0.5, p95S: 2.0 },
  { player: "hls.js", partTarget: 0.2, p95S: 1.2 },
  { player: "Shaka", partTarget: 0.5, p95S: 2.5 },
];

/** Seconds of each run left out of the figures: the join and the player's first catch-up. */
const WARM_UP_S = 3;

export type Ladder = "test" | "default";

/** One player's run. */
export interface PlayerRun {
  player: PlayerName;
  ladder: Ladder;
  partTarget: number;
  playedS: number;
  /** Glass-to-glass, seconds (null distribution for players without a program date-time API: video.js). */
  latency: Distribution;
  /** The player's own behind-live figure, seconds (hls.js `latency`, Shaka seek range end - position, video.js
   *  liveTracker). */
  behind: Distribution;
  /** Stalls: `waiting` events, except seeks within buffered media. */
  stalls: number;
  /** Seeks within buffered media: the player jumped, nothing ran dry (absent in older runs). */
  seeks?: number;
  /** Every `waiting` event (absent in older runs). */
  stallLog?: RunStall[];
  responses: number;
  parts: number;
  status4xx: number;
  status5xx: number;
  /** Failed URLs (at most 5), for the report. */
  failedExamples: string[];
  errors: string[];
  /** Page load -> first frame, ms. */
  firstFrameMs: number | null;
  /** [seconds since sampling started, glass-to-glass s (or behind-live s for video.js)], for the plot. */
  curve: [number, number][];
  targetP95S: number | null;
  pass: boolean | null;
}

/** Time to live and to first frame in one latency mode (test ladder). */
export interface TimeToLive {
  mode: Mode;
  /** Publisher start -> master playlist whose first rendition lists a part (interactive) or a segment. */
  liveMs: number | null;
  /** Publisher start -> the first rendition lists a complete segment (hls.js plays from segments; absent in older runs). */
  segmentMs?: number | null;
  /** Watch page load -> first frame, ms. */
  firstFrameMs: number | null;
  /** The watch page's way to that frame (absent in older runs). */
  timeline?: FirstFrameTimeline | null;
}

/** What the watch page received before its first frame, ms after its load started. */
export interface FirstFrameTimeline {
  /** The multivariant playlist answered. */
  masterMs: number | null;
  /** The first media playlist answered. */
  playlistMs: number | null;
  /** Media playlists answered before the first part or segment (reloads of a playlist hls.js could not use yet). */
  playlistLoads: number;
  /** The first part or segment answered. */
  mediaMs: number | null;
}

export interface PlayersResult {
  playS: number;
  runs: PlayerRun[];
  timeToLive: TimeToLive[];
  /** CPU use per ladder while players played (1-min load average after its runs). */
  loadAfter: Partial<Record<Ladder, number>>;
  pass: boolean | null;
}

export interface PlayersOptions {
  playS: number;
  ladders: Ladder[];
  log: (line: string) => void;
}

/** What each ladder's publish carries and which players run on it, at which part targets. */
const PLANS: Record<Ladder, { partTarget: number; players: PlayerName[] }[]> = {
  test: [
    { partTarget: 0.5, players: ["hls.js", "Shaka", "video.js"] },
    { partTarget: 0.2, players: ["hls.js"] },
  ],
  default: [{ partTarget: 0.5, players: ["hls.js", "Shaka", "video.js"] }],
};

/** Runs every ladder's plans, then time to live per mode (test ladder). */
export async function runPlayers(options: PlayersOptions): Promise<PlayersResult> {
  const runs: PlayerRun[] = [];
  let timeToLive: TimeToLive[] = [];
  const loadAfter: Partial<Record<Ladder, number>> = {};
  for (const ladder of options.ladders) {
    options.log(`players: starting wrangler dev + ingest node (${ladder} ladder)`);
    const system = await startSystem({
      nodeEnv: { LOG_LEVEL: "warn", LADDER: ladder, X264_PRESET: ladder === "test" ? "ultrafast" : "veryfast" },
    });
    let browser: TestBrowser | null = null;
    try {
      browser = await launchBrowser();
      for (const plan of PLANS[ladder]) {
        const stream = await createStream(system, "interactive", plan.partTarget);
        const publisher = system.publish(stream.ingest_endpoint, ladder === "default" ? { size: "1280x720" } : {});
        try {
          await waitForPlayable(system, stream.stream_id, "interactive", 30_000, 2);
          for (const player of plan.players) {
            const run = await playOnce(system, browser, stream.stream_id, player, ladder, plan.partTarget, options.playS);
            runs.push(run);
            options.log(
              `players ${ladder} ${player} @${plan.partTarget}: glass-to-glass p50 ${run.latency.p50 ?? "-"} p95 ${run.latency.p95 ?? "-"} s, behind-live p50 ${run.behind.p50 ?? "-"} s, ${run.stalls} stalls, ${run.seeks} seeks within the buffer, ${run.status4xx} 4xx, ${run.status5xx} 5xx, ${run.errors.length} errors, first frame ${run.firstFrameMs} ms${stallText(run.stallLog ?? [])}`,
            );
          }
        } finally {
          await publisher.stop();
          await system.api("POST", `/streams/${stream.stream_id}/stop`).catch(() => undefined);
        }
      }
      loadAfter[ladder] = Number(loadavg()[0]!.toFixed(2));
      if (ladder === "test") timeToLive = await measureTimeToLive(system, browser, options);
    } finally {
      await browser?.close();
      await system.stop();
    }
  }
  const judged = runs.filter((r) => r.pass !== null);
  return {
    playS: options.playS,
    runs,
    timeToLive,
    loadAfter,
    pass: judged.length === 0 ? null : judged.every((r) => r.pass) && runs.every((r) => r.stalls === 0),
  };
}

async function createStream(system: TestSystem, mode: Mode, partTarget?: number): Promise<{ stream_id: string; ingest_endpoint: string }> {
  const created = await system.api<{ stream_id: string; ingest_endpoint: string }>("POST", "/streams", {
    title: `bench players ${mode}`,
    latency_mode: mode,
    record: false,
    ...(partTarget !== undefined ? { part_target: partTarget } : {}),
  });
  if (created.status !== 201) throw new Error(`POST /streams answered ${created.status}: ${JSON.stringify(created.body)}`);
  return created.body;
}

/** Polls until the master playlist's first rendition lists a part (interactive) or `segments` segments; ms waited. */
async function waitForPlayable(system: TestSystem, id: string, mode: Mode, timeoutMs: number, segments = 1): Promise<number> {
  const started = Date.now();
  const masterUrl = system.url(`/live/${id}/master.m3u8`);
  while (Date.now() - started < timeoutMs) {
    const master = await fetch(masterUrl).catch(() => null);
    if (master?.ok) {
      const uri = (await master.text()).split("\n").find((line) => line.endsWith(".m3u8") || line.includes(".m3u8?"));
      if (uri) {
        const media = await (await fetch(new URL(uri, masterUrl))).text();
        const segs = (media.match(/^#EXTINF/gm) ?? []).length;
        const parts = (media.match(/^#EXT-X-PART:/gm) ?? []).length;
        // Playable: a part listed (interactive: players start on parts), or a segment; `segments` > 1 asks for more.
        const playable = segments > 1 ? segs >= segments : mode === "interactive" ? parts > 0 : segs >= 1;
        if (playable) return Date.now() - started;
      }
    } else await master?.body?.cancel();
    await sleep(50);
  }
  throw new Error(`stream ${id} not playable within ${timeoutMs} ms`);
}

/** Opens `player` on the stream in a fresh page, plays `playS` seconds, and measures. */
async function playOnce(
  system: TestSystem,
  browser: TestBrowser,
  id: string,
  player: PlayerName,
  ladder: Ladder,
  partTarget: number,
  playS: number,
): Promise<PlayerRun> {
  const page = await browser.context.newPage();
  try {
    const loadStart = Date.now();
    const responses = await openPlayer(page, system.url, id, player);
    const firstFrameMs = await firstFrame(page, loadStart);
    const sampledAt = Date.now();
    const { latency, behind, curve, stalls, seeks, stallLog: waits, errors } = await samplePlayer(page, player, playS, WARM_UP_S);
    const stallLog = waits.map((x) => ({ ...x, partGapS: partGapAround(responses, sampledAt, x) }));
    const failed = responses.filter((r) => r.status >= 400);
    const s = (d: Distribution): Distribution => ({ n: d.n, p50: round(d.p50, 2), p95: round(d.p95, 2), p99: round(d.p99, 2), max: round(d.max, 2) });
    const target = ladder === "test" ? PLAYER_TARGETS.find((x) => x.player === player && x.partTarget === partTarget) : undefined;
    const latencyD = s(distribution(latency));
    const status4xx = failed.filter((r) => r.status < 500).length;
    return {
      player,
      ladder,
      partTarget,
      playedS: playS,
      latency: latencyD,
      behind: s(distribution(behind)),
      stalls,
      seeks,
      stallLog,
      responses: responses.length,
      parts: responses.filter((r) => PART_URL.test(r.url)).length,
      status4xx,
      status5xx: failed.length - status4xx,
      failedExamples: failed.slice(0, 5).map((r) => `${r.status} ${new URL(r.url).pathname}`),
      errors,
      firstFrameMs,
      curve,
      targetP95S: target?.p95S ?? null,
      pass: target
        ? latencyD.p95 !== null && latencyD.p95 <= target.p95S && stalls === 0 && errors.length === 0 && (player !== "Shaka" || status4xx === 0)
        : null,
    };
  } finally {
    await page.close();
  }
}

/** ms from `loadStart` until the page's video shows a frame (currentTime > 0, playing). */
async function firstFrame(page: Page, loadStart: number): Promise<number | null> {
  try {
    await waitForFirstFrame(page, "first frame");
    return Date.now() - loadStart;
  } catch {
    return null;
  }
}

/** Per mode on the test ladder: publisher start -> playable, then watch page load -> first frame. */
async function measureTimeToLive(system: TestSystem, browser: TestBrowser, options: PlayersOptions): Promise<TimeToLive[]> {
  const out: TimeToLive[] = [];
  for (const mode of ["interactive", "low", "standard"] as Mode[]) {
    const stream = await createStream(system, mode);
    const publishedAt = Date.now();
    const publisher = system.publish(stream.ingest_endpoint);
    try {
      const liveMs = await waitForPlayable(system, stream.stream_id, mode, 30_000).catch(() => null);
      let firstFrameMs: number | null = null;
      let segmentMs: number | null = null;
      let timeline: FirstFrameTimeline | null = null;
      if (liveMs !== null) {
        // While the page loads: when the first complete segment is listed (interactive lists parts before that).
        const segmentListed = waitForPlayable(system, stream.stream_id, "standard", 30_000).then(
          () => Date.now() - publishedAt,
          () => null,
        );
        const page = await browser.context.newPage();
        try {
          const loadStart = Date.now();
          const responses = await openPlayer(page, system.url, stream.stream_id, "hls.js");
          firstFrameMs = await firstFrame(page, loadStart);
          timeline = firstFrameTimeline(responses, loadStart);
        } finally {
          await page.close();
        }
        segmentMs = await segmentListed;
      }
      out.push({ mode, liveMs, segmentMs, firstFrameMs, timeline });
      options.log(
        `players time to live ${mode}: ${liveMs} ms (a segment listed at ${segmentMs} ms), first frame ${firstFrameMs} ms (master ${timeline?.masterMs} ms, first media playlist ${timeline?.playlistMs} ms, ${timeline?.playlistLoads} playlist loads, first media ${timeline?.mediaMs} ms)`,
      );
    } finally {
      await publisher.stop();
      await system.api("POST", `/streams/${stream.stream_id}/stop`).catch(() => undefined);
    }
  }
  return out;
}

/** The page's responses up to its first part or segment, as a timeline from `loadStart`. */
function firstFrameTimeline(responses: EdgeResponse[], loadStart: number): FirstFrameTimeline {
  const ok = responses.filter((r) => r.status === 200);
  const path = (r: EdgeResponse) => new URL(r.url).pathname;
  const at = (r: EdgeResponse | undefined) => (r ? r.atMs - loadStart : null);
  const media = ok.find((r) => path(r).endsWith(".m4s"));
  const playlists = ok.filter((r) => path(r).endsWith(".m3u8") && !path(r).endsWith("/master.m3u8"));
  return {
    masterMs: at(ok.find((r) => path(r).endsWith("/master.m3u8"))),
    playlistMs: at(playlists[0]),
    playlistLoads: playlists.filter((r) => media === undefined || r.atMs <= media.atMs).length,
    mediaMs: at(media),
  };
}

/** A `waiting` event and the longest interval between two parts the page received in the 2 s before it and while it
 *  lasted (s; null without two parts then): a part that came late shows here as a gap longer than the part target. */
export type RunStall = StallRecord & { partGapS?: number | null };

/** The longest interval between consecutive part responses around `stall` (times from `sampledAt`), seconds. */
function partGapAround(responses: EdgeResponse[], sampledAt: number, stall: StallRecord): number | null {
  const from = sampledAt + (stall.atS - 2) * 1000;
  const to = sampledAt + (stall.atS + (stall.lastedS ?? 0)) * 1000;
  const times = responses.filter((r) => PART_URL.test(r.url) && r.atMs >= from && r.atMs <= to).map((r) => r.atMs);
  let longest: number | null = null;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest ?? 0, times[i]! - times[i - 1]!);
  return longest === null ? null : Math.round(longest / 10) / 100;
}

/** `waiting` events as "; waiting at 12.3 s (0.04 s ahead, lasted 1.03 s), 20.1 s (2.06 s ahead, seek within the buffer, ...)", or "". */
export function stallText(log: RunStall[]): string {
  if (log.length === 0) return "";
  const gap = (x: RunStall) => (x.partGapS == null ? "" : `, parts ${x.partGapS} s apart`);
  const one = (x: RunStall) =>
    `${x.atS} s (${x.aheadS} s ahead${isSeekInBuffer(x) ? ", seek within the buffer" : x.seeking ? ", seeking" : ""}, lasted ${x.lastedS ?? "?"} s${gap(x)})`;
  return `; waiting at ${log.map(one).join(", ")}`;
}
