// Memory over time: the real system (edge + ingest node + FFmpeg publisher, an interactive stream on the test ladder)
// runs for a while with one reader fetching every listed object of every rendition, while the RSS of every process is
// sampled. Then, on the same edge, a burst of trivial requests (`GET /bench/plain`) measures what workerd grows per
// request with none of our code in play: the baseline the soak's growth is read against.
import { type MemorySample, MemorySampler, slope, type Tracked, trackPid } from "./memory-sampler.ts";
import { type AllocatorSplit, SoakAllocator } from "./soak-allocator.ts";
import { sleep } from "./stats.ts";

/** What the soak runs against (wrangler dev in `npm run bench`). */
export interface SoakSystem {
  /** What serves the edge, e.g. "wrangler dev". */
  edgeKind: string;
  /** The V8 flags the edge's workerd processes run with (MINIFLARE_WORKERD_V8_FLAGS). */
  v8Flags: readonly string[];
  url(path: string): string;
  /** Creates an interactive stream; returns its id and RTMP publish URL. */
  createStream(): Promise<{ id: string; publishUrl: string }>;
  /** Starts the publisher (FFmpeg test pattern); returns its pid and a stop function. */
  publish(url: string): { pid: number | undefined; stop(): Promise<void> };
  waitForRenditions(id: string, min: number, timeoutMs: number): Promise<{ name: string; url: string }[]>;
  /** Everything to sample except the publisher: the edge's processes, the ingest node and its FFmpeg children. */
  processes(): Tracked[];
  /** The ingest node's ops URL (its /metrics count the uploads, the node's requests to the edge). */
  nodeOpsUrl: string;
}

/** Growth of one process. */
export interface ProcessGrowth {
  label: string;
  kind: Tracked["kind"];
  startMiB: number | null;
  /** At the end of the warm-up (the first `warmupS` seconds are left out of the slopes). */
  warmMiB: number | null;
  endMiB: number | null;
  peakMiB: number | null;
  /** Least-squares slope after the warm-up: MiB per 1,000 requests served by the edge, and MiB per minute (over the
   *  longest stretch without a restart). */
  miBPerKRequests: number | null;
  miBPerMinute: number | null;
  /** The same slopes over the second half of that stretch only: what "flat once warm" is read from (absent in older runs). */
  lateMiBPerKRequests?: number | null;
  lateMiBPerMinute?: number | null;
  /** File pages (mapped files) in its RSS at the end of the warm-up and at the end (absent in older runs): growth
   *  there is the page cache of files it maps, such as the local simulation's SQLite databases, not memory it holds. */
  fileWarmMiB?: number | null;
  fileEndMiB?: number | null;
  /** Times its processes were replaced during the soak (wrangler dev restarts the Worker when a source file changes). */
  restarts: number;
  /** Seconds the slopes are measured over. */
  slopeSpanS: number;
}

/** A baseline burst on the same edge: a trivial route, or raw R2 reads of a segment. */
export interface SoakBaseline {
  route: string;
  requests: number;
  /** Size of the object each request read (0 for the trivial route). */
  objectBytes?: number;
  durationS: number;
  /** Growth of each workerd process over the burst, MiB per 1,000 requests. */
  processes: { label: string; beforeMiB: number | null; afterMiB: number | null; miBPerKRequests: number | null }[];
}

/** The soak section's figures: one soak per edge it ran on. */
export interface SoakSectionResult {
  runs: SoakResult[];
}

/** One soak's figures. */
export interface SoakResult {
  edgeKind: string;
  /** The V8 flags workerd ran with (absent in soaks measured before they were recorded). */
  v8Flags?: string[];
  /** When this soak started (a soak section may keep another edge's soak from an earlier run). */
  measuredAt: string;
  minutes: number;
  warmupS: number;
  renditions: string[];
  reloadMs: number;
  requests: { reader: number; node: number; total: number };
  /** `bytes`: what the reader read (playlists included). */
  objects: { fetched: number; missing: number; examples: string[]; bytes: number; playlistErrors: number };
  /** Body bytes the node uploaded to the edge during the soak. */
  uploadedBytes?: number;
  samples: MemorySample[];
  processes: ProcessGrowth[];
  baseline: SoakBaseline;
  /** Raw R2 reads of the largest segment listed at the end (absent in soaks measured before it existed). */
  bytesBaseline?: SoakBaseline;
  /** tcmalloc's split of each workerd's memory (absent in soaks measured before it was read). */
  allocator?: AllocatorSplit[];
  /** What the figures cannot say for themselves (written into the results file by hand, shown in the report). */
  note?: string;
}

/** Options of a soak. */
export interface SoakOptions {
  minutes: number;
  /** Seconds left out of the slopes at the start (processes warming up). */
  warmupS: number;
  sampleIntervalMs: number;
  /** How often the reader reloads each media playlist (the part target: an LL-HLS player's pace without blocking). */
  reloadMs: number;
  baselineRequests: number;
  log: (line: string) => void;
}

/** Every URI a media playlist names that a player may fetch now: the map, segments, parts (not the preload hint). */
export function listedUris(playlist: string): string[] {
  const uris: string[] = [];
  for (const raw of playlist.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (!line.startsWith("#")) uris.push(line);
    else if (line.startsWith("#EXT-X-MAP:") || line.startsWith("#EXT-X-PART:") || line.startsWith("#EXT-X-KEY:")) {
      const uri = /URI="([^"]+)"/.exec(line)?.[1];
      if (uri) uris.push(uri);
    }
  }
  return uris;
}

/** One player-like reader: reloads each rendition's playlist and fetches every object it lists that it has not yet. */
class Reader {
  requests = 0;
  fetched = 0;
  missing = 0;
  bytes = 0;
  playlistErrors = 0;
  readonly examples: string[] = [];
  private readonly seen = new Set<string>();

  async run(playlists: { url: string }[], reloadMs: number, until: number): Promise<void> {
    await Promise.all(playlists.map((p) => this.follow(p.url, reloadMs, until)));
  }

  private async follow(playlistUrl: string, reloadMs: number, until: number): Promise<void> {
    while (Date.now() < until) {
      const cycle = Date.now();
      this.requests += 1;
      const text = await fetch(playlistUrl, { signal: AbortSignal.timeout(10_000) })
        .then(async (r) => {
          if (r.ok) return r.text();
          await r.body?.cancel();
          return null;
        })
        .catch(() => null);
      if (text === null) this.playlistErrors += 1;
      else this.bytes += text.length;
      for (const uri of text === null ? [] : listedUris(text)) {
        const url = new URL(uri, playlistUrl).toString();
        if (this.seen.has(url)) continue;
        this.seen.add(url);
        this.requests += 1;
        const status = await fetch(url, { signal: AbortSignal.timeout(10_000) })
          .then(async (r) => {
            this.bytes += (await r.arrayBuffer()).byteLength;
            return r.status;
          })
          .catch((err: Error) => err.name);
        if (status === 200) this.fetched += 1;
        else {
          this.missing += 1;
          if (this.examples.length < 10) this.examples.push(`${new URL(url).pathname}: ${status}`);
        }
      }
      await sleep(Math.max(0, reloadMs - (Date.now() - cycle)));
    }
  }
}

/** Sum of the samples of metric `name` (all label sets) in Prometheus text. */
function metric(text: string, name: string): number {
  let total = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+(?:\\.\\d+)?(?:e\\+?\\d+)?)$`, "gm"))) total += Number(match[1]);
  return total;
}

/** The node's uploads so far (each one request to the edge) and their body bytes, from its metrics; 0 when unreadable. */
async function nodeUploads(opsUrl: string): Promise<{ requests: number; bytes: number }> {
  const text = await fetch(`${opsUrl}/metrics`)
    .then((r) => r.text())
    .catch(() => "");
  return {
    requests: metric(text, "ingest_uploaded_objects_total") + metric(text, "ingest_upload_retries_total"),
    bytes: metric(text, "ingest_uploaded_bytes_total"),
  };
}

/** The longest stretch of consecutive samples read from the same processes. */
function longestStretch<T extends { pids: string }>(series: T[]): T[] {
  let best: T[] = [];
  let current: T[] = [];
  for (const s of series) {
    if (current.length > 0 && current[0]!.pids !== s.pids) current = [];
    current.push(s);
    if (current.length > best.length) best = current;
  }
  return best;
}

/** Growth of `tracked` over the samples after `warmupS`: the whole stretch and its second half ("once warm"). */
export function growth(samples: MemorySample[], tracked: Tracked, warmupS: number): ProcessGrowth {
  const series = samples
    .filter((s) => s.rss[tracked.label] !== undefined)
    .map((s) => ({ t: s.t, requests: s.requests, rss: s.rss[tracked.label]!, file: s.rssFile?.[tracked.label], pids: s.pids[tracked.label] ?? "" }));
  const restarts = series.filter((s, i) => i > 0 && s.pids !== series[i - 1]!.pids).length;
  // Only as long as the same processes ran: a restarted process starts over and its drop is no growth.
  const warm = longestStretch(series.filter((s) => s.t >= warmupS));
  const perRequest = slope(warm.map((s) => ({ x: s.requests, y: s.rss })));
  const perSecond = slope(warm.map((s) => ({ x: s.t, y: s.rss })));
  const middle = warm.length === 0 ? 0 : (warm[0]!.t + warm.at(-1)!.t) / 2;
  const late = warm.filter((s) => s.t >= middle);
  const latePerRequest = slope(late.map((s) => ({ x: s.requests, y: s.rss })));
  const latePerSecond = slope(late.map((s) => ({ x: s.t, y: s.rss })));
  const r = (v: number | null | undefined, d = 1) => (v === null || v === undefined ? null : Math.round(v * 10 ** d) / 10 ** d);
  return {
    label: tracked.label,
    kind: tracked.kind,
    startMiB: r(series[0]?.rss),
    warmMiB: r(warm[0]?.rss),
    endMiB: r(series.at(-1)?.rss),
    peakMiB: r(series.length > 0 ? Math.max(...series.map((s) => s.rss)) : null),
    miBPerKRequests: r(perRequest === null ? null : perRequest * 1000, 2),
    miBPerMinute: r(perSecond === null ? null : perSecond * 60, 2),
    lateMiBPerKRequests: r(latePerRequest === null ? null : latePerRequest * 1000, 2),
    lateMiBPerMinute: r(latePerSecond === null ? null : latePerSecond * 60, 2),
    fileWarmMiB: r(warm[0]?.file),
    fileEndMiB: r(series.at(-1)?.file),
    restarts,
    slopeSpanS: warm.length > 1 ? Math.round(warm.at(-1)!.t - warm[0]!.t) : 0,
  };
}

/** `count` GETs of `url`, `concurrency` at a time; returns how many answered 200. */
async function hammer(url: string, count: number, concurrency: number): Promise<number> {
  let next = 0;
  let ok = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next += 1;
        const response = await fetch(url).catch(() => null);
        if (response?.status === 200) ok += 1;
        await response?.arrayBuffer().catch(() => undefined);
      }
    }),
  );
  return ok;
}

/** The largest of the last segments (not parts) the media playlists list now, with its size; null when none answers. */
async function largestListedSegment(playlistUrls: string[]): Promise<{ url: string; bytes: number } | null> {
  let best: { url: string; bytes: number } | null = null;
  for (const playlistUrl of playlistUrls) {
    const text = await fetch(playlistUrl)
      .then((r) => (r.ok ? r.text() : null))
      .catch(() => null);
    const last = text
      ?.split("\n")
      .filter((line) => line.trim() !== "" && !line.startsWith("#"))
      .at(-1);
    if (!last) continue;
    const url = new URL(last, playlistUrl).toString();
    const bytes = await fetch(url)
      .then(async (r) => (r.ok ? (await r.arrayBuffer()).byteLength : 0))
      .catch(() => 0);
    if (bytes > (best?.bytes ?? 0)) best = { url, bytes };
  }
  return best;
}

/** `count` GETs of `url` (4 at a time) and what each workerd process grew meanwhile. */
async function burst(workerds: Tracked[], route: string, url: string, count: number, objectBytes: number): Promise<SoakBaseline> {
  const before = workerds.map((t) => t.read());
  const started = Date.now();
  const ok = await hammer(url, count, 4);
  const durationS = (Date.now() - started) / 1000;
  await sleep(1000);
  const after = workerds.map((t) => t.read());
  return {
    route,
    requests: ok,
    objectBytes,
    durationS: Math.round(durationS),
    processes: workerds.map((t, i) => {
      // A process replaced during the burst (a restart) has no growth to report.
      const same = before[i]?.pids === after[i]?.pids;
      const b = same ? (before[i]?.rssMiB ?? null) : null;
      const a = same ? (after[i]?.rssMiB ?? null) : null;
      return {
        label: t.label,
        beforeMiB: b === null ? null : Math.round(b),
        afterMiB: a === null ? null : Math.round(a),
        miBPerKRequests: a === null || b === null || ok === 0 ? null : Math.round(((a - b) / ok) * 1000 * 100) / 100,
      };
    }),
  };
}

function describeBaseline(b: SoakBaseline): string {
  return `${b.requests} × ${b.route} in ${b.durationS} s: ${b.processes.map((p) => `${p.label} ${p.miBPerKRequests} MiB/1k`).join(", ")}`;
}

/** How often the soak reads workerd's allocator after the warm-up (gdb holds workerd about a second each time). */
const ALLOCATOR_READ_EVERY_MS = 5 * 60_000;

/** Runs the soak and then the baseline bursts on `system`. */
export async function runSoak(system: SoakSystem, options: SoakOptions): Promise<SoakResult> {
  const { log } = options;
  const measuredAt = new Date().toISOString();
  const stream = await system.createStream();
  const publisher = system.publish(stream.publishUrl);
  try {
    const renditions = await system.waitForRenditions(stream.id, 4, 60_000);
    log(
      `soak: ${renditions.length} renditions (${renditions.map((r) => r.name).join(", ")}); reading every listed object for ${options.minutes} min on ${system.edgeKind}`,
    );
    const tracked = [...system.processes(), ...(publisher.pid === undefined ? [] : [trackPid("FFmpeg (publisher)", publisher.pid)])];
    const reader = new Reader();
    const uploadsAtStart = await nodeUploads(system.nodeOpsUrl);
    let uploads = 0;
    let uploadedBytes = 0;
    const countUploads = (n: { requests: number; bytes: number }) => {
      uploads = Math.max(uploads, n.requests - uploadsAtStart.requests);
      uploadedBytes = Math.max(uploadedBytes, n.bytes - uploadsAtStart.bytes);
    };
    const sampler = new MemorySampler(tracked, () => reader.requests + uploads);
    // The node's count is read on the sampler's beat (a request to the node's ops port, not to the edge).
    const counter = setInterval(() => void nodeUploads(system.nodeOpsUrl).then(countUploads), 1000);
    sampler.start(options.sampleIntervalMs);
    const allocator = new SoakAllocator(tracked, log);
    allocator.start(options.warmupS * 1000, ALLOCATOR_READ_EVERY_MS);
    const until = Date.now() + options.minutes * 60_000;
    const progress = setInterval(() => {
      const last = sampler.samples.at(-1);
      if (last)
        log(
          `soak: t=${Math.round(last.t)} s, ${last.requests} requests, ${reader.missing} missing; RSS ${Object.entries(last.rss)
            .map(([k, v]) => `${k} ${Math.round(v)}`)
            .join(", ")} MiB`,
        );
    }, 60_000);
    try {
      await reader.run(renditions, options.reloadMs, until);
    } finally {
      clearInterval(progress);
      clearInterval(counter);
      await allocator.stop();
    }
    countUploads(await nodeUploads(system.nodeOpsUrl));
    sampler.sample();
    sampler.stop();
    const processes = tracked.map((t) => growth(sampler.samples, t, options.warmupS));
    log(`soak: ${reader.fetched} objects fetched, ${reader.missing} missing; ${reader.requests} reader + ${uploads} node requests`);
    for (const p of processes) {
      log(`soak: ${p.label} ${p.warmMiB} -> ${p.endMiB} MiB after the warm-up, of which file pages ${p.fileWarmMiB ?? "?"} -> ${p.fileEndMiB ?? "?"} MiB`);
    }

    // Baselines on the same edge, the publisher stopped: trivial requests, then raw R2 reads of the largest segment the
    // playlists list now (no Cache API, Durable Object or D1: bytes through workerd and nothing of ours). Chosen before
    // the publisher stops and from the live window: an unrecorded stream's older segments are deleted as it moves.
    const segment = await largestListedSegment(renditions.map((r) => r.url));
    await publisher.stop();
    await sleep(3000);
    const workerds = tracked.filter((t) => t.kind === "workerd");
    const baseline = await burst(workerds, "GET /bench/plain", system.url("/bench/plain"), options.baselineRequests, 0);
    log(`soak baseline: ${describeBaseline(baseline)}`);
    let bytesBaseline: SoakBaseline | undefined;
    if (segment) {
      const key = new URL(segment.url).pathname.slice(1);
      const kib = Math.round(segment.bytes / 1024);
      bytesBaseline = await burst(
        workerds,
        `GET /bench/r2/<a ${kib} KiB segment>`,
        system.url(`/bench/r2/${key}`),
        Math.round(options.baselineRequests / 5),
        segment.bytes,
      );
      log(`soak baseline: ${describeBaseline(bytesBaseline)}`);
    }
    await allocator.read("release");
    return {
      edgeKind: system.edgeKind,
      v8Flags: [...system.v8Flags],
      measuredAt,
      minutes: options.minutes,
      warmupS: options.warmupS,
      renditions: renditions.map((r) => r.name),
      reloadMs: options.reloadMs,
      requests: { reader: reader.requests, node: uploads, total: reader.requests + uploads },
      objects: { fetched: reader.fetched, missing: reader.missing, examples: reader.examples, bytes: reader.bytes, playlistErrors: reader.playlistErrors },
      uploadedBytes,
      samples: sampler.samples,
      processes,
      baseline,
      bytesBaseline,
      allocator: allocator.result(),
    };
  } finally {
    await publisher.stop();
  }
}
