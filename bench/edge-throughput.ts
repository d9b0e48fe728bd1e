// Edge throughput with wrk: playback routes against baselines measured in the same run — a plain-text Worker route
// and a raw R2 GET route (edge/src/routes/bench.ts), and nginx serving the same segment file from disk.
import type { BenchSystem } from "./edge-system.ts";
import { parseTimeline } from "./hls.ts";
import { startNginx } from "./nginx.ts";
import { mean, median, sleep } from "./stats.ts";
import { runWrk, type WrkResult } from "./wrk.ts";

/** The throughput targets: ratios of req/s (a playlist GET against a plain Worker route, a segment GET against R2). */
export const THROUGHPUT_TARGETS = { playlistVsPlain: 0.5, segmentVsR2: 0.8 };

/** The measured routes, in run order. */
export const TARGETS = [
  { id: "playlist", label: "media playlist GET (no directive)" },
  { id: "playlist-directive", label: "playlist GET, _HLS_msn/_HLS_part already satisfied (blocking path)" },
  { id: "init", label: "init.mp4 GET (Cache API hit)" },
  { id: "segment", label: "segment GET (Cache API hit)" },
  { id: "plain", label: "baseline: /bench/plain (Worker, short text)" },
  { id: "r2", label: "baseline: /bench/r2/<key> (Worker, raw R2 GET, no cache)" },
  { id: "nginx", label: "baseline: nginx, same segment file from disk" },
] as const;
export type TargetId = (typeof TARGETS)[number]["id"];

/** Summary of one route over the rounds. */
export interface TargetSummary {
  id: TargetId;
  label: string;
  url: string;
  bytes: number;
  requestsPerSec: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  non2xx: number;
  socketErrors: number;
  rounds: WrkResult[];
}

export interface ThroughputResult {
  wrk: { threads: number; connections: number; durationS: number; rounds: number };
  segmentBytes: number;
  targets: TargetSummary[];
  /** Ratios of req/s, median over rounds (each round's ratio uses that round's figures). */
  ratios: { playlistVsPlain: number; directiveVsPlain: number; segmentVsR2: number; initVsR2: number; segmentVsNginx: number; plainVsNginx: number };
  pass: { playlistVsPlain: boolean; segmentVsR2: boolean };
}

export interface ThroughputOptions {
  durationS: number;
  rounds: number;
  connections: number;
  log: (line: string) => void;
}

async function fetchOk(url: string): Promise<Uint8Array> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: ${new TextDecoder().decode(bytes).slice(0, 200)}`);
  return bytes;
}

/** Publishes an interactive stream briefly (so every kind of object exists), then loads each route with wrk. */
export async function runThroughput(bench: BenchSystem, options: ThroughputOptions): Promise<ThroughputResult> {
  const stream = await bench.createStream("interactive", "bench throughput");
  const publisher = bench.system.publish(stream.ingest_endpoint);
  let mediaUrl: string;
  let playlistText = "";
  try {
    const renditions = await bench.waitForRenditions(stream.stream_id, 3, 30_000);
    const chosen = renditions.find((r) => r.name !== "source") ?? renditions[0]!;
    mediaUrl = chosen.url;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      playlistText = new TextDecoder().decode(await fetchOk(mediaUrl));
      if (parseTimeline(playlistText).items.filter((i) => i.kind === "segment").length >= 2) break;
      await sleep(250);
    }
  } finally {
    // The publisher stops so FFmpeg does not compete for the CPU; the stream stays live (reconnect window).
    await publisher.stop();
  }
  await sleep(2000);
  playlistText = new TextDecoder().decode(await fetchOk(mediaUrl));
  const segments = parseTimeline(playlistText).items.filter((i) => i.kind === "segment");
  if (segments.length < 2) throw new Error("the throughput stream never listed two segments");
  const lastSegment = segments.at(-1)!;
  const segmentUri = playlistText
    .split("\n")
    .find((l) => l.trim().endsWith(`seg-${lastSegment.msn}.m4s`))!
    .trim();
  const mapUri = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlistText)?.[1];
  if (!mapUri) throw new Error("no EXT-X-MAP in the playlist");
  const segmentUrl = new URL(segmentUri, mediaUrl).toString();
  const initUrl = new URL(mapUri, mediaUrl).toString();
  // R2 key of the same segment: the playback path minus /live/ (edge/src/storage/media.ts: live/<id>/<r>/<epoch>/<file>).
  const r2Key = `live${new URL(segmentUrl).pathname.slice("/live".length)}`;
  const segmentBytes = await fetchOk(segmentUrl);
  const nginx = await startNginx({ "seg.m4s": segmentBytes });
  const urls: Record<TargetId, string> = {
    playlist: mediaUrl,
    "playlist-directive": `${mediaUrl}?_HLS_msn=${lastSegment.msn}&_HLS_part=0`,
    init: initUrl,
    segment: segmentUrl,
    plain: bench.url("/bench/plain"),
    r2: bench.url(`/bench/r2/${r2Key}`),
    nginx: `${nginx.url}/seg.m4s`,
  };
  const sizes = {} as Record<TargetId, number>;
  const rounds = new Map<TargetId, WrkResult[]>();
  try {
    // Every route answers 200 before it is loaded (and the cached ones are in the cache).
    for (const target of TARGETS) {
      const bytes = await fetchOk(urls[target.id]);
      sizes[target.id] = bytes.byteLength;
      if (target.id === "r2" && bytes.byteLength !== segmentBytes.byteLength) throw new Error("/bench/r2 returned other bytes than the segment");
      rounds.set(target.id, []);
    }
    for (let round = 0; round < options.rounds; round++) {
      // Alternate the order so drift (other load, thermal) does not favour the first or last route.
      const order = round % 2 === 0 ? [...TARGETS] : [...TARGETS].reverse();
      for (const target of order) {
        const result = await runWrk(urls[target.id], { threads: 1, connections: options.connections, durationS: options.durationS });
        rounds.get(target.id)!.push(result);
        options.log(
          `throughput round ${round + 1} ${target.id}: ${result.requestsPerSec.toFixed(0)} req/s, p50 ${result.latencyP50Ms} ms, p99 ${result.latencyP99Ms} ms${result.non2xx ? `, ${result.non2xx} non-2xx` : ""}`,
        );
      }
    }
  } finally {
    await nginx.stop();
    await bench.stopStream(stream.stream_id).catch(() => undefined);
  }
  const targets: TargetSummary[] = TARGETS.map((t) => {
    const list = rounds.get(t.id)!;
    return {
      id: t.id,
      label: t.label,
      url: urls[t.id].replace(/^http:\/\/127\.0\.0\.1:\d+/, ""),
      bytes: sizes[t.id],
      requestsPerSec: mean(list.map((r) => r.requestsPerSec)) ?? 0,
      latencyP50Ms: median(list.map((r) => r.latencyP50Ms ?? Number.NaN).filter(Number.isFinite)),
      latencyP99Ms: median(list.map((r) => r.latencyP99Ms ?? Number.NaN).filter(Number.isFinite)),
      non2xx: list.reduce((sum, r) => sum + r.non2xx, 0),
      socketErrors: list.reduce((sum, r) => sum + r.socketErrors, 0),
      rounds: list,
    };
  });
  const ratio = (a: TargetId, b: TargetId) => {
    const ra = rounds.get(a)!;
    const rb = rounds.get(b)!;
    return median(ra.map((r, i) => r.requestsPerSec / Math.max(1e-9, rb[i]!.requestsPerSec))) ?? 0;
  };
  const ratios = {
    playlistVsPlain: ratio("playlist", "plain"),
    directiveVsPlain: ratio("playlist-directive", "plain"),
    segmentVsR2: ratio("segment", "r2"),
    initVsR2: ratio("init", "r2"),
    segmentVsNginx: ratio("segment", "nginx"),
    plainVsNginx: ratio("plain", "nginx"),
  };
  return {
    wrk: { threads: 1, connections: options.connections, durationS: options.durationS, rounds: options.rounds },
    segmentBytes: segmentBytes.byteLength,
    targets,
    ratios,
    pass: {
      playlistVsPlain: ratios.playlistVsPlain >= THROUGHPUT_TARGETS.playlistVsPlain,
      segmentVsR2: ratios.segmentVsR2 >= THROUGHPUT_TARGETS.segmentVsR2,
    },
  };
}
