// Viewer scale: how much of a crowd reaches one stream's Durable Object. Two parts, both on the bundled Worker on bare
// workerd (bench/edge-direct.ts), built from bench/workerd/object-counter.ts, which counts every call each stream object
// receives:
// - the budget: wrk on a media playlist with the isolate and relay tiers off (COALESCE_PLAYLISTS=0, RELAY_PLAYLISTS=0:
//   every request is a call to the object), 1 -> 64 connections; the budget is the throughput of the last step whose
//   median latency is at most twice the one-connection median;
// - the simulation: simulated viewers (70 % plain reloads, 30 % blocking LL-HLS reloads; 20 % on a signed stream, each
//   with its own token; spread over renditions and over simulated edge locations named by the test-only relay location
//   header), 100 -> 1,000 -> 10,000, against two interactive streams fed by a synthetic node; the object's calls per
//   second and per part, the staleness of every plain answer, errors.
// The regional relay tier (RELAY_TIER_REGIONS, edge/src/live/relay-tier.ts): the simulation runs with the locations
// grouped into `regions` regions (location i in region i mod regions), then once more with the tier off, so the
// object's load is measured both ways for the same crowd and locations.
// Isolates: every request is sent with the isolate tier off (COALESCE_PLAYLISTS=0), so each reaches its location's relay
// as if it came from an isolate of its own: the worst case for the object (real isolates only ever take load off).
import type { CreatedStream } from "./edge-system.ts";
import { DIRECT_INGEST_SECRET, type DirectEdge, startDirectEdge } from "./edge-direct.ts";
import { SyntheticNode } from "./ingest-api.ts";
import { KeepAliveConnection, KeepAlivePool } from "./keepalive-http.ts";
import { DEFAULT_PLAYLIST_STALENESS_MS } from "../edge/src/live/latest-playlists.ts";
import { stalenessShares } from "../edge/src/live/relay-tier.ts";
import { type Distribution, distribution, round, sleep } from "./stats.ts";
import { runWrk } from "./wrk.ts";

/** Targets: the object's load grows < 1.2x from 100 to 10,000 viewers; 0 errors; plain staleness p99 within the bound. */
export const VIEWER_TARGETS = { growth: 1.2 };

const LOCATION_HEADER = "x-bench-location";
const SIGNING_SECRET = "bench-viewers-signing-secret";
const COUNTER_ENTRY = "bench/workerd/object-counter.ts";
const PARTS_PER_SEGMENT = 4;
const RENDITIONS = ["hi", "lo"] as const;
/** Most sockets the load client opens to the edge, shared by all simulated viewers (bench/keepalive-http.ts KeepAlivePool). */
const MAX_SOCKETS = 1024;
/** The edge counts a viewer for 30 s after its last request (edge/src/live/viewers.ts). */
const VIEWER_WINDOW_MS = 30_000;

/** One wrk step of the budget. */
export interface BudgetStep {
  connections: number;
  requestsPerSec: number;
  p50Ms: number | null;
  p99Ms: number | null;
  errors: number;
}

/** The object's throughput for playlist calls. */
export interface ViewerBudget {
  steps: BudgetStep[];
  /** The same ramp on /bench/plain (no Durable Object): the Worker's own floor on this workerd. */
  plainSteps: BudgetStep[];
  /** Requests/s of the last step whose p50 is at most twice the one-connection p50. */
  budgetPerSec: number;
  kneeConnections: number;
}

/** One simulated crowd. */
export interface ViewerStep {
  viewers: number;
  /** Each viewer was active one second in `sampling` (1: all the time, a real player's cadence). */
  sampling: number;
  locations: number;
  /** Tier regions the locations were grouped in (0: the tier off, every location's relay calls the object). */
  regions?: number;
  seconds: number;
  /** Requests the simulated players sent (and got answers to) per second, by kind. */
  edgeRequestsPerSec: { plain: number; blocking: number; total: number };
  /** Calls per second the stream objects received for viewers (playlists, viewer counts, hinted parts), each stream. */
  objectPerSec: { public: number; signed: number; total: number };
  /** The same, per new part (playlist update) per location per rendition, on the public stream. */
  objectPerPartPerLocationRendition: number;
  /** Calls by method, both streams, over the window. */
  objectCalls: Record<string, number>;
  /** Plain answers: ms from the commit of the first part they do not list (committed before the answer came) to the
   *  answer; 0 when they list everything committed. */
  staleness: Distribution;
  /** Blocking answers: ms from the part's commit (or the request, if sent later) to the answer. */
  blockingDelay: Distribution;
  errors: number;
  errorKinds: Record<string, number>;
  /** The load client's sockets: opened (at most MAX_SOCKETS), the most requests that waited for one at once, and the
   *  requests sent once more because the edge closed their reused connection before answering (bench/keepalive-http.ts). */
  clientSockets?: { opened: number; peakWaiting: number; staleRetries?: number };
  /** Status `viewers` of the public stream at the end, vs the simulated viewers on it (plus an earlier step's still
   *  within the edge's 30 s viewer window). */
  statusViewers: { public: number | null; expected: number };
}

export interface ViewersResult {
  budget: ViewerBudget | null;
  /** With the regional tier when `regions` > 0. */
  steps: ViewerStep[];
  /** Tier regions of `steps` (0 or absent: the tier off). */
  regions?: number;
  /** The same crowds and locations with the tier off (null: not run). */
  untiered?: { steps: ViewerStep[]; growth: number | null } | null;
  partS: number;
  plainReloadS: number;
  stalenessBoundMs: number;
  /** Object load growth: the busiest step's total calls per second over the first step's. */
  growth: number | null;
  pass: boolean | null;
  paper: PaperEstimate | null;
}

/** The 1M-viewer estimate from the measured figures. */
export interface PaperEstimate {
  viewers: number;
  locations: number;
  renditions: number;
  /** Per caller (the relay that calls the object) and rendition whenever it has viewers: one follow call per playlist
   *  update (each part, and each segment's close) and its own calls in gaps past twice its share of the bound. */
  perLocationRenditionPerSec: number;
  /** Viewer-count reports per relay that calls the object per second, measured (largest step, per stream). */
  reportsPerLocationPerSec: number;
  /** Highest per location per rendition load measured in the simulation (public stream). */
  measuredPerLocationRenditionPerSec: number;
  objectPerSec: number;
  budgetPerSec: number;
  headroom: number;
  fits: boolean;
  /** The regional tier (RELAY_TIER_REGIONS): 30 regions from a table; `continent`, one per inhabited continent. */
  regionalTier: { regions: number; objectPerSec: number; headroom: number } | null;
  continentTier?: { regions: number; objectPerSec: number; headroom: number };
}

/** A crowd: `viewers` distinct viewers, each sending one in `sampling` of a real player's requests (1: all). */
export interface CrowdSpec {
  viewers: number;
  sampling: number;
}

export interface ViewersOptions {
  steps: CrowdSpec[];
  locations: number;
  /** Tier regions the locations are grouped in (0: the tier off); with regions, the tier-off run follows for comparison. */
  regions: number;
  seconds: number;
  budgetSeconds: number;
  partS: number;
  plainReloadS: number;
  log: (line: string) => void;
}

/** Three uppercase letters per location, as `cf.colo` names them (relayLocation ignores anything else). */
function locationName(i: number): string {
  const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  return `X${a[Math.floor(i / 26) % 26]}${a[i % 26]}`;
}

/** RELAY_TIER_REGIONS for `locations` simulated locations in `regions` regions (location i in region i mod regions). */
export function tierTable(locations: number, regions: number): string {
  if (regions <= 0) return "off";
  const byRegion = Array.from({ length: regions }, () => [] as string[]);
  for (let i = 0; i < locations; i++) byRegion[i % regions]!.push(locationName(i));
  return byRegion.map((names, r) => `bench-r${r}=${names.join(" ")}`).join("; ");
}

/** Runs the budget, then the simulation (with the tier, then without it when there are regions). */
export async function runViewers(options: ViewersOptions): Promise<ViewersResult> {
  options.log("viewers: the budget (every playlist request a call to the object)");
  const budgetEdge = await startDirectEdge(
    { BENCH_ROUTES: "1", COALESCE_PLAYLISTS: "0", RELAY_PLAYLISTS: "0", RECONNECT_WINDOW_SECONDS: "3600" },
    COUNTER_ENTRY,
  );
  let budget: ViewerBudget | null = null;
  try {
    budget = await measureBudget(budgetEdge, options);
  } finally {
    await budgetEdge.stop();
  }
  options.log(`viewers: budget ${budget.budgetPerSec} req/s (knee at ${budget.kneeConnections} connections)`);
  const stalenessBoundMs = Math.min(500, (options.partS * 1000) / 2);
  const steps = await simulate(options, options.regions);
  const untiered = options.regions > 0 ? await simulate(options, 0) : null;
  const last = steps.at(-1);
  const growth = growthOf(steps);
  const pass =
    growth === null
      ? null
      : growth < VIEWER_TARGETS.growth && steps.every((s) => s.errors === 0 && s.staleness.p99 !== null && s.staleness.p99 <= stalenessBoundMs);
  return {
    budget,
    steps,
    regions: options.regions,
    untiered: untiered ? { steps: untiered, growth: growthOf(untiered) } : null,
    partS: options.partS,
    plainReloadS: options.plainReloadS,
    stalenessBoundMs,
    growth,
    pass,
    paper: last && budget ? paperEstimate(steps, budget.budgetPerSec, options.partS) : null,
  };
}

/** Growth over the whole range: the busiest step against the smallest crowd (a larger crowd that happens to cost less
 *  must not hide a middle one that cost more). */
function growthOf(steps: ViewerStep[]): number | null {
  const first = steps[0];
  return first && first.objectPerSec.total > 0 ? round(Math.max(...steps.map((s) => s.objectPerSec.total)) / first.objectPerSec.total, 2) : null;
}

/** The crowds of `options.steps` on a fresh edge whose locations are grouped in `regions` tier regions (0: tier off). */
export async function simulate(options: ViewersOptions, regions: number): Promise<ViewerStep[]> {
  const tier = tierTable(options.locations, regions);
  options.log(`viewers: ${options.locations} locations, ${regions > 0 ? `${regions} tier regions (${tier})` : "the regional tier off"}`);
  const edge = await startDirectEdge(
    {
      BENCH_ROUTES: "1",
      COALESCE_PLAYLISTS: "0",
      RELAY_PLAYLISTS: "1",
      RELAY_TIER_REGIONS: tier,
      TEST_RELAY_LOCATION_HEADER: LOCATION_HEADER,
      PLAYBACK_SIGNING_SECRET: SIGNING_SECRET,
      RECONNECT_WINDOW_SECONDS: "3600",
    },
    COUNTER_ENTRY,
  );
  const steps: ViewerStep[] = [];
  try {
    const sim = await Simulation.start(edge, options);
    try {
      for (const spec of options.steps) {
        const step = { ...(await sim.runStep(spec)), regions };
        steps.push(step);
        options.log(
          `viewers ${spec.viewers}${spec.sampling > 1 ? ` (1 in ${spec.sampling} sampled)` : ""}: edge ${step.edgeRequestsPerSec.total} req/s, object ${step.objectPerSec.total} calls/s (${step.objectPerPartPerLocationRendition} per part per location per rendition), staleness p99 ${step.staleness.p99} ms, ${step.errors} errors${step.errors > 0 ? ` ${JSON.stringify(step.errorKinds)}` : ""}, client sockets ${step.clientSockets?.opened} (most waiting ${step.clientSockets?.peakWaiting}, ${step.clientSockets?.staleRetries} sent again after a reused connection closed)`,
        );
      }
    } finally {
      await sim.stop();
    }
  } finally {
    await edge.stop();
  }
  return steps;
}

/** Calls per second the relay that calls a stream's object makes per rendition it has viewers of, whatever their number
 *  and mode, when it may serve a playlist the object confirmed for `trustMs` (its share of the staleness bound): one
 *  follow call per playlist update (a part, and a segment's close every few parts); and, as its viewers always reload,
 *  when the parts come further apart than twice its share (a reload waits one share for the follow's next answer), one
 *  call of its own per twice its share left in the gap (edge/src/live/relay-follow.ts); blocked requests wait on the
 *  follow. */
export function callerCallsPerRenditionSec(partS: number, trustMs: number): number {
  const gapMs = partS * 1000;
  const ownCallsPerGap = gapMs > 2 * trustMs ? Math.ceil((gapMs - 2 * trustMs) / (2 * trustMs)) : 0;
  return (1 / partS) * (1 + 1 / PARTS_PER_SEGMENT + ownCallsPerGap);
}

/** The trust of the relay that calls the object in production, where isolates keep playlists too: its share of the bound
 *  (half a part target, at most PLAYLIST_STALENESS_MS's default) with the regional tier or without it. */
export function productionTrustMs(partS: number): number {
  return Math.min(DEFAULT_PLAYLIST_STALENESS_MS, (partS * 1000) / 2) * stalenessShares(true, true).region;
}

/** 1M viewers over 300 locations and 4 renditions: the tiers' ceiling per caller (a million viewers give every caller
 *  viewers of every rendition) with the measured viewer-count report rate, against the measured budget. */
export function paperEstimate(steps: ViewerStep[], budgetPerSec: number, partS: number): PaperEstimate {
  const locations = 300;
  const renditions = 4;
  const last = steps.at(-1)!;
  // Whichever relay calls the object (a location's without the tier, a region's with it) follows each rendition, and its
  // blocked requests wait on the follow (edge/src/live/relay-follow.ts): viewers and isolates do not enter it.
  const perLocationRenditionPerSec = round(callerCallsPerRenditionSec(partS, productionTrustMs(partS)), 2) ?? 0;
  // Reports come from the relays that call the object: the regions' when the run had the tier.
  const callers = last.regions ? last.regions : last.locations;
  const reportsPerLocationPerSec = round((last.objectCalls.relayViewerCount ?? 0) / last.seconds / (callers * 2), 2) ?? 0;
  const measuredPerLocationRenditionPerSec =
    round(Math.max(...steps.map((s) => s.objectPerSec.public / ((s.regions || s.locations) * RENDITIONS.length))), 2) ?? 0;
  const perLocation = perLocationRenditionPerSec * renditions + reportsPerLocationPerSec;
  const objectPerSec = Math.round(perLocation * locations);
  const headroom = round(budgetPerSec / Math.max(1, objectPerSec), 2) ?? 0;
  const fits = headroom >= 2;
  // With the regional tier (built: RELAY_TIER_REGIONS) the object sees one caller per region, each calling it the way
  // a location's relay did: 30 regions from a table, or one per inhabited continent (the default, "continent").
  const tierOf = (regions: number) => {
    const regionalPerSec = Math.round(perLocation * regions);
    return { regions, objectPerSec: regionalPerSec, headroom: round(budgetPerSec / Math.max(1, regionalPerSec), 2) ?? 0 };
  };
  const regionalTier = tierOf(30);
  const continentTier = tierOf(6);
  return {
    viewers: 1_000_000,
    locations,
    renditions,
    perLocationRenditionPerSec,
    reportsPerLocationPerSec,
    measuredPerLocationRenditionPerSec,
    objectPerSec,
    budgetPerSec,
    headroom,
    fits,
    regionalTier,
    continentTier,
  };
}

async function measureBudget(edge: DirectEdge, options: ViewersOptions): Promise<ViewerBudget> {
  const created = await edge.api<CreatedStream>("POST", "/streams", { title: "bench budget", latency_mode: "interactive", record: false });
  if (created.status !== 201) throw new Error(`POST /streams answered ${created.status}`);
  const id = created.body.stream_id;
  const node = new SyntheticNode(edge.url(""), DIRECT_INGEST_SECRET, "bench-budget");
  const grant = await node.publish(created.body.stream_key);
  const rendition = "hi";
  await node.putInit(
    id,
    rendition,
    { epoch: grant.epoch, codecs: "avc1.42c01e,mp4a.40.2", width: 640, height: 360, bandwidth: 800_000, frame_rate: 30 },
    new Uint8Array(1024).fill(1),
  );
  // A few segments and an open one with parts: a playlist of the size a live viewer gets.
  let msn = grant.first_msn;
  const bytes = new Uint8Array(8 * 1024).fill(7);
  for (let s = 0; s < 4; s++, msn++) {
    for (let p = 0; p < PARTS_PER_SEGMENT; p++)
      await node.putPart(id, rendition, { epoch: grant.epoch, msn, part: p, duration: options.partS, independent: p === 0 }, bytes);
    await node.putSegment(
      id,
      rendition,
      {
        epoch: grant.epoch,
        msn,
        duration: PARTS_PER_SEGMENT * options.partS,
        program_date_time: new Date(Date.now() - (4 - s) * 2000).toISOString(),
        parts: PARTS_PER_SEGMENT,
      },
      new Uint8Array(PARTS_PER_SEGMENT * bytes.byteLength).fill(7),
    );
  }
  await node.putPart(id, rendition, { epoch: grant.epoch, msn, part: 0, duration: options.partS, independent: true }, bytes);
  const url = edge.url(`/live/${id}/${rendition}/index.m3u8`);
  const plainUrl = edge.url("/bench/plain");
  await runWrk(url, { connections: 4, durationS: 2 });
  const ramp = async (target: string): Promise<BudgetStep[]> => {
    const steps: BudgetStep[] = [];
    for (const connections of [1, 2, 4, 8, 16, 32, 64]) {
      const r = await runWrk(target, { connections, durationS: options.budgetSeconds });
      steps.push({
        connections,
        requestsPerSec: Math.round(r.requestsPerSec),
        p50Ms: r.latencyP50Ms,
        p99Ms: r.latencyP99Ms,
        errors: r.non2xx + r.socketErrors,
      });
      options.log(
        `viewers budget ${target.includes("/bench/") ? "plain" : "playlist"} c=${connections}: ${Math.round(r.requestsPerSec)} req/s, p50 ${r.latencyP50Ms} ms`,
      );
    }
    return steps;
  };
  const steps = await ramp(url);
  const plainSteps = await ramp(plainUrl);
  const base = steps[0]?.p50Ms ?? 0;
  const within = steps.filter((s) => s.p50Ms !== null && s.p50Ms <= 2 * base && s.errors === 0);
  const knee = within.reduce((best, s) => (s.requestsPerSec > best.requestsPerSec ? s : best), within[0] ?? steps[0]!);
  await edge.api("POST", `/streams/${id}/stop`).catch(() => undefined);
  return { steps, plainSteps, budgetPerSec: knee.requestsPerSec, kneeConnections: knee.connections };
}

/** A simulated viewer's identity. */
interface Viewer {
  index: number;
  stream: "public" | "signed";
  rendition: (typeof RENDITIONS)[number];
  location: string;
  blocking: boolean;
  userAgent: string;
  token: string | null;
}

/** What one step recorded. */
interface StepRecord {
  plain: number;
  blocking: number;
  staleness: number[];
  blockingDelay: number[];
  errors: Record<string, number>;
}

/** Two interactive streams (public, signed) fed with parts on the clock by a synthetic node, and the crowds. */
class Simulation {
  private readonly edge: DirectEdge;
  private readonly options: ViewersOptions;
  private readonly streams: Record<"public" | "signed", { id: string }>;
  private readonly node: SyntheticNode;
  private readonly epochs: Record<string, number>;
  private readonly firstMsn: Record<string, number>;
  /** Commit time (performance.now) of each part "stream|msn.part", set once every rendition of both streams has it. */
  private readonly committed = new Map<string, number>();
  private feeding = true;
  /** Uploads that failed (each one is counted as an error of the step it fell in). */
  readonly feedErrors: string[] = [];
  private feeder: Promise<void> = Promise.resolve();
  private current = { msn: 0, part: 0 };
  /** Public viewers of earlier steps and when their last request went out (the edge counts a viewer for 30 s). */
  private readonly earlier: { viewers: number; endedAt: number }[] = [];

  private constructor(
    edge: DirectEdge,
    options: ViewersOptions,
    streams: Record<"public" | "signed", { id: string }>,
    node: SyntheticNode,
    epochs: Record<string, number>,
    firstMsn: Record<string, number>,
  ) {
    this.edge = edge;
    this.options = options;
    this.streams = streams;
    this.node = node;
    this.epochs = epochs;
    this.firstMsn = firstMsn;
  }

  static async start(edge: DirectEdge, options: ViewersOptions): Promise<Simulation> {
    const node = new SyntheticNode(edge.url(""), DIRECT_INGEST_SECRET, "bench-viewers");
    const streams = {} as Record<"public" | "signed", { id: string }>;
    const epochs: Record<string, number> = {};
    const firstMsn: Record<string, number> = {};
    for (const kind of ["public", "signed"] as const) {
      const created = await edge.api<CreatedStream>("POST", "/streams", {
        title: `bench viewers ${kind}`,
        latency_mode: "interactive",
        part_target: options.partS,
        playback_policy: kind,
        record: false,
      });
      if (created.status !== 201) throw new Error(`POST /streams answered ${created.status}: ${JSON.stringify(created.body)}`);
      const id = created.body.stream_id;
      streams[kind] = { id };
      const grant = await node.publish(created.body.stream_key);
      epochs[id] = grant.epoch;
      firstMsn[id] = grant.first_msn;
      for (const [r, rendition] of RENDITIONS.entries()) {
        await node.putInit(
          id,
          rendition,
          { epoch: grant.epoch, codecs: "avc1.42c01e,mp4a.40.2", width: 640 >> r, height: 360 >> r, bandwidth: 800_000 >> r, frame_rate: 30 },
          new Uint8Array(1024).fill(1),
        );
      }
    }
    const sim = new Simulation(edge, options, streams, node, epochs, firstMsn);
    sim.feeder = sim.feed();
    // Two segments listed before anyone watches.
    while (sim.current.msn < 2 + Math.min(...Object.values(firstMsn))) await sleep(100);
    return sim;
  }

  /** Uploads a part every partS on every rendition of both streams, closing a segment every PARTS_PER_SEGMENT parts. */
  private async feed(): Promise<void> {
    const ids = Object.values(this.streams).map((s) => s.id);
    let msn = Math.min(...ids.map((id) => this.firstMsn[id]!));
    let part = 0;
    let segmentStart = Date.now();
    const bytes = new Uint8Array(4 * 1024).fill(7);
    let next = performance.now();
    while (this.feeding) {
      try {
        ({ msn, part, segmentStart } = await this.feedOne(ids, msn, part, segmentStart, bytes));
      } catch (err) {
        // The figures would be wrong without parts on the clock: the step reports it as an error.
        this.feedErrors.push((err as Error).message);
      }
      next += this.options.partS * 1000;
      await sleep(Math.max(0, next - performance.now()));
    }
  }

  /** One part on every rendition of both streams (and the segment it closes). */
  private async feedOne(ids: string[], msn: number, part: number, segmentStart: number, bytes: Uint8Array) {
    {
      const puts: Promise<void>[] = [];
      for (const id of ids)
        for (const rendition of RENDITIONS)
          puts.push(this.node.putPart(id, rendition, { epoch: this.epochs[id]!, msn, part, duration: this.options.partS, independent: part === 0 }, bytes));
      await Promise.all(puts);
      const at = performance.now();
      for (const id of ids) this.committed.set(`${id}|${msn}.${part}`, at);
      this.current = { msn, part };
      part += 1;
      if (part === PARTS_PER_SEGMENT) {
        const segs: Promise<void>[] = [];
        for (const id of ids)
          for (const rendition of RENDITIONS)
            segs.push(
              this.node.putSegment(
                id,
                rendition,
                {
                  epoch: this.epochs[id]!,
                  msn,
                  duration: PARTS_PER_SEGMENT * this.options.partS,
                  program_date_time: new Date(segmentStart).toISOString(),
                  parts: PARTS_PER_SEGMENT,
                },
                new Uint8Array(PARTS_PER_SEGMENT * bytes.byteLength).fill(7),
              ),
            );
        await Promise.all(segs);
        msn += 1;
        part = 0;
        segmentStart = Date.now();
      }
    }
    return { msn, part, segmentStart };
  }

  /** `n` distinct tokens for the signed stream, minted by the API (each with its own expiry, so each its own MAC). */
  private async mintTokens(n: number): Promise<string[]> {
    const tokens: string[] = new Array(n);
    for (let i = 0; i < n; i += 16) {
      await Promise.all(
        Array.from({ length: Math.min(16, n - i) }, async (_, j) => {
          const minted = await this.edge.api<{ token: string }>("POST", `/streams/${this.streams.signed.id}/playback-tokens`, {
            expires_in: 3600 + 10 * (i + j),
          });
          if (minted.status !== 201 && minted.status !== 200) throw new Error(`minting a playback token answered ${minted.status}`);
          tokens[i + j] = minted.body.token;
        }),
      );
    }
    if (new Set(tokens).size !== n) throw new Error("the minted tokens are not all distinct");
    return tokens;
  }

  /** Object calls of `id` so far, by method. */
  private async objectCalls(id: string): Promise<Record<string, number>> {
    // On its own connection each time, retried: under the largest crowd a pooled connection may have been reset.
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await new KeepAliveConnection(new URL(this.edge.url("/")).hostname, Number(new URL(this.edge.url("/")).port)).get(
          `/bench/object-calls/${id}`,
          { connection: "close" },
          10_000,
        );
        if (answer.status !== 200) throw new Error(`object-calls answered ${answer.status}`);
        return JSON.parse(answer.body) as Record<string, number>;
      } catch (err) {
        this.options.log(`viewers: reading the object's call counts failed (attempt ${attempt}: ${(err as Error).message})`);
        if (attempt >= 5) throw new Error(`GET /bench/object-calls/${id} failed 5 times: ${(err as Error).message}`);
        await sleep(200);
      }
    }
  }

  async runStep({ viewers: count, sampling }: CrowdSpec): Promise<ViewerStep> {
    const { options } = this;
    const viewers: Viewer[] = [];
    const tokens = await this.mintTokens(Math.ceil(count / 5));
    for (let i = 0; i < count; i++) {
      // Every fifth viewer on the signed stream; 3 in 10 blocking (by groups of five, so signed viewers block too); the
      // renditions by groups of fifty (both have blocking and plain viewers of both streams); locations round-robin.
      const stream = i % 5 === 4 ? "signed" : "public";
      viewers.push({
        index: i,
        stream,
        rendition: RENDITIONS[Math.floor(i / 50) % RENDITIONS.length]!,
        location: locationName(i % options.locations),
        blocking: Math.floor(i / 5) % 10 < 3,
        userAgent: `bench-viewer-${count}-${i}`,
        token: stream === "signed" ? tokens[Math.floor(i / 5)]! : null,
      });
    }
    const record: StepRecord = { plain: 0, blocking: 0, staleness: [], blockingDelay: [], errors: {} };
    const feedErrorsBefore = this.feedErrors.length;
    let recording = false;
    let running = true;
    const fail = (kind: string) => {
      if (recording) record.errors[kind] = (record.errors[kind] ?? 0) + 1;
    };
    // All viewers share one bounded pool of keep-alive connections, as a crowd behind one edge shares its connections:
    // each request takes a connection for its whole exchange (a held one included) and gives it back.
    const host = new URL(this.edge.url("/")).hostname;
    const port = Number(new URL(this.edge.url("/")).port);
    const pool = new KeepAlivePool(host, port, MAX_SOCKETS);
    const pathOf = (v: Viewer, query: string) => {
      const params = [query, v.token ? `token=${v.token}` : ""].filter(Boolean).join("&");
      return `/live/${this.streams[v.stream].id}/${v.rendition}/index.m3u8${params ? `?${params}` : ""}`;
    };
    const headersOf = (v: Viewer) => ({ "user-agent": v.userAgent, [LOCATION_HEADER]: v.location });
    // A sampled crowd: viewer i plays (exactly as a player does) one second in `sampling` — the seconds, counted from its
    // own random phase, whose number is i modulo `sampling` — and pauses in between, so 10,000 distinct viewers
    // (sessions, tokens) send the requests of 10,000 / sampling, spread over time as theirs would be.
    const phases = viewers.map(() => Math.random() * 1000);
    const active = (v: Viewer) => sampling <= 1 || Math.floor((Date.now() - phases[v.index]!) / 1000) % sampling === v.index % sampling;
    /** Resolves once `v` is active; true when it had to wait (a player back from a pause). */
    const untilActive = async (v: Viewer): Promise<boolean> => {
      let waited = false;
      while (!active(v)) {
        waited = true;
        await sleep(1000 - ((Date.now() - phases[v.index]!) % 1000) + 1);
      }
      return waited;
    };
    const loops = viewers.map(async (v) => {
      const id = this.streams[v.stream].id;
      await sleep(Math.random() * options.plainReloadS * 1000);
      if (!v.blocking) {
        let next = performance.now();
        while (running) {
          await untilActive(v);
          // Back from a pause (sampled crowds): on with the cadence from now, without catching up.
          next = Math.max(next, performance.now());
          try {
            const answer = await pool.get(pathOf(v, ""), headersOf(v));
            const at = performance.now();
            if (answer.status !== 200) fail(`plain ${answer.status}`);
            else if (recording) {
              record.plain += 1;
              record.staleness.push(this.staleness(id, answer.body, at));
            }
          } catch (err) {
            fail(`plain ${(err as Error).message}`);
          }
          next += options.plainReloadS * 1000;
          await sleep(Math.max(0, next - performance.now()));
        }
        return;
      }
      let query = "";
      while (running) {
        // Back from a pause, a player reloads plainly, then blocks on the part its preload hint names.
        if (await untilActive(v)) query = "";
        try {
          const sentAt = performance.now();
          const answer = await pool.get(pathOf(v, query), headersOf(v));
          const at = performance.now();
          if (answer.status !== 200) {
            fail(`blocking ${answer.status}`);
            query = "";
            await sleep(options.partS * 1000);
            continue;
          }
          if (query !== "" && recording) {
            record.blocking += 1;
            const m = /_HLS_msn=(\d+)&_HLS_part=(\d+)/.exec(query);
            const committedAt = m ? this.committed.get(`${id}|${m[1]}.${m[2]}`) : undefined;
            if (committedAt !== undefined) record.blockingDelay.push(Math.max(0, at - Math.max(sentAt, committedAt)));
          }
          // As a player does: block on the part the preload hint names.
          const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="[^"]*part-(\d+)\.(\d+)\.m4s/.exec(answer.body);
          query = hint ? `_HLS_msn=${hint[1]}&_HLS_part=${hint[2]}` : "";
          if (!hint) await sleep(options.partS * 1000);
        } catch (err) {
          fail(`blocking ${(err as Error).message}`);
          query = "";
          await sleep(options.partS * 1000);
        }
      }
    });
    // Warm-up: every viewer has joined (its first request made) before the window opens.
    await sleep(Math.max(options.plainReloadS, sampling) * 1000 + 2000);
    const ids = [this.streams.public.id, this.streams.signed.id];
    options.log(`viewers ${count}: warmed up (${pool.size} client sockets), reading the object's call counts`);
    // A failed read ends the step: its viewers must stop too, or they would go on loading the edge being stopped.
    const stopViewers = (err: unknown): never => {
      running = false;
      pool.close();
      throw err;
    };
    const before = await Promise.all(ids.map((id) => this.objectCalls(id))).catch(stopViewers);
    const partBefore = this.current;
    recording = true;
    const t0 = performance.now();
    await sleep(options.seconds * 1000);
    recording = false;
    const elapsedS = (performance.now() - t0) / 1000;
    const after = await Promise.all(ids.map((id) => this.objectCalls(id))).catch(stopViewers);
    const partAfter = this.current;
    const statusViewers = await this.edge.api<{ viewers?: number }>("GET", `/streams/${this.streams.public.id}/status`);
    const statusAt = Date.now();
    running = false;
    await Promise.race([Promise.allSettled(loops), sleep(8000)]);
    const publicViewers = viewers.filter((v) => v.stream === "public").length;
    const lingering = this.earlier.filter((e) => statusAt - e.endedAt < VIEWER_WINDOW_MS).reduce((sum, e) => sum + e.viewers, 0);
    this.earlier.push({ viewers: publicViewers, endedAt: Date.now() });
    pool.close();
    const viewerMethods = ["mediaPlaylist", "followMediaPlaylist", "masterPlaylist", "awaitPart", "countViewers", "relayViewerCount"];
    const calls: Record<string, number> = {};
    const perStream = ids.map((_, s) => {
      let total = 0;
      for (const method of viewerMethods) {
        const n = (after[s]![method] ?? 0) - (before[s]![method] ?? 0);
        calls[method] = (calls[method] ?? 0) + n;
        total += n;
      }
      return total;
    });
    const parts = (partAfter.msn - partBefore.msn) * PARTS_PER_SEGMENT + (partAfter.part - partBefore.part);
    const feedErrors = this.feedErrors.length - feedErrorsBefore;
    if (feedErrors > 0) {
      record.errors["part upload"] = feedErrors;
      options.log(`viewers ${count}: part uploads failed: ${this.feedErrors.slice(feedErrorsBefore, feedErrorsBefore + 5).join("; ")}`);
    }
    const errors = Object.values(record.errors).reduce((a, b) => a + b, 0);
    const rate = (n: number) => Math.round(n / elapsedS);
    return {
      viewers: count,
      sampling,
      locations: options.locations,
      seconds: round(elapsedS, 1) ?? 0,
      edgeRequestsPerSec: { plain: rate(record.plain), blocking: rate(record.blocking), total: rate(record.plain + record.blocking) },
      objectPerSec: {
        public: round(perStream[0]! / elapsedS, 1) ?? 0,
        signed: round(perStream[1]! / elapsedS, 1) ?? 0,
        total: round((perStream[0]! + perStream[1]!) / elapsedS, 1) ?? 0,
      },
      objectPerPartPerLocationRendition: round(perStream[0]! / Math.max(1, parts) / (options.locations * RENDITIONS.length), 2) ?? 0,
      objectCalls: calls,
      staleness: rounded(distribution(record.staleness)),
      blockingDelay: rounded(distribution(record.blockingDelay)),
      errors,
      errorKinds: record.errors,
      clientSockets: { opened: pool.size, peakWaiting: pool.peakWaiting, staleRetries: pool.staleRetries },
      statusViewers: {
        public: typeof statusViewers.body.viewers === "number" ? statusViewers.body.viewers : null,
        expected: publicViewers + lingering,
      },
    };
  }

  private staleness(id: string, body: string, at: number): number {
    return unlistedAgeMs(body, (msn, part) => this.committed.get(`${id}|${msn}.${part}`), at);
  }

  async stop(): Promise<void> {
    this.feeding = false;
    await this.feeder.catch(() => undefined);
    for (const s of Object.values(this.streams)) await this.edge.api("POST", `/streams/${s.id}/stop`).catch(() => undefined);
  }
}

/**
 * How stale a plain answer is: ms between the commit of the first part `body` does not list (when `commitTime` says it
 * was committed before `at`) and `at`; 0 when the playlist lists every part committed by then.
 */
export function unlistedAgeMs(body: string, commitTime: (msn: number, part: number) => number | undefined, at: number): number {
  const last = body.lastIndexOf("#EXT-X-PART:");
  const m = last < 0 ? null : /part-(\d+)\.(\d+)\.m4s/.exec(body.slice(last));
  if (!m) return 0;
  const msn = Number(m[1]);
  const part = Number(m[2]);
  const committedAt = part + 1 < PARTS_PER_SEGMENT ? commitTime(msn, part + 1) : commitTime(msn + 1, 0);
  return committedAt !== undefined && committedAt < at ? at - committedAt : 0;
}

function rounded(d: Distribution): Distribution {
  const r = (v: number | null) => (v === null ? null : Math.round(v));
  return { n: d.n, p50: r(d.p50), p95: r(d.p95), p99: r(d.p99), max: r(d.max) };
}
