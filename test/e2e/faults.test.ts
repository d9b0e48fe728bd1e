// Fault tests of the whole system: two ingest nodes in two regions (eu, us) against one edge under wrangler dev, real
// publishers (FFmpeg over RTMP and SRT, a werift WHIP client; cases (b) and (c) run one stream per protocol at once),
// and a follower that reads the stream the way a player does (master, every media playlist, every object they list).
// Each case counts the segments the nodes cut (their "segment produced" log lines, cross-checked with
// `ingest_segments_produced_total` on /metrics) against the segments the edge listed and served: zero lost, zero
// listed-but-missing. Every wait is bounded.
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import HLS from "hls-parser";
import type { MasterPlaylist, MediaPlaylist } from "hls-parser/types";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/free-port.ts";
import { eventually, INGEST_SECRET, registerNode, startSystem, type SystemNode, type TestSystem } from "./harness.ts";
import { rtmpAbuse } from "./rtmp-abuse.ts";
import { killWhipEncoders, startWhipClient, WhipClientError } from "./whip-client.ts";

interface Stream {
  stream_id: string;
  stream_key: string;
  ingest_endpoint: string;
  ingest_server: string;
  srt_url: string | null;
  whip_url: string | null;
  region: string;
  status: string;
  started_at: string | null;
}

interface Status {
  status: "live" | "offline";
  started_at: string | null;
  health: { ingest_connected: boolean; node_id: string | null; epoch: number | null };
}

interface Regions {
  regions: { region: string; default_ingest_server: string | null; nodes: { id: string; rtmp_url: string }[] }[];
}

/** Reconnect window of the fault system: longer than the 30 s edge outage plus the edge's restart. */
const RECONNECT_WINDOW_S = 90;
/** Media upload limit of the fault system (the oversized upload is one byte more). */
const MAX_MEDIA_BYTES = 4 * 1024 * 1024;
/** How long the edge stays down in case (b). */
const EDGE_OUTAGE_MS = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let system: TestSystem;
let eu: SystemNode;
let us: SystemNode;

beforeAll(async () => {
  // Both nodes also take WHIP (SRT is on for every node): cases (b) and (c) publish over all three protocols at once.
  const whip = async (ports: string) => ({ WHIP_PORT: String(await freePort()), WEBRTC_PORTS: ports });
  system = await startSystem({
    nodes: [
      { region: "eu", env: await whip("21600-21649") },
      { region: "us", env: await whip("21650-21699") },
    ],
    // PLAYLIST_STALENESS_MS 0: the follower audits what the edge lists, not what a player sees. After an outage the node
    // replays faster than real time and the 15-segment window can slide past a playlist kept for half a second (a
    // player would skip ahead too); every segment must still have been listed at some moment.
    edgeVars: { RECONNECT_WINDOW_SECONDS: String(RECONNECT_WINDOW_S), MAX_MEDIA_BYTES: String(MAX_MEDIA_BYTES), PLAYLIST_STALENESS_MS: "0" },
    // Debug: every cut segment is logged ("segment produced"), which survives a kill -9 of the node.
    nodeEnv: { LOG_LEVEL: "debug" },
  });
  [eu, us] = [system.nodes[0]!, system.nodes[1]!];
}, 120_000);

// A case that failed half-way must not leave its publishers running: their load would fail the cases after it.
afterEach(async () => {
  await Promise.allSettled(startedInCase.splice(0).map((publisher) => publisher.drop()));
});

afterAll(async () => {
  killWhipEncoders();
  await system?.stop();
});

// ---- helpers ----------------------------------------------------------------------------------------------------

async function createStream(title: string, region: string): Promise<Stream> {
  const { status, body } = await system.api<Stream>("POST", "/streams", { title, region, latency_mode: "low" });
  expect(status, JSON.stringify(body)).toBe(201);
  return body;
}

async function streamStatus(id: string): Promise<Status> {
  const { status, body } = await system.api<Status>("GET", `/streams/${id}/status`);
  expect(status).toBe(200);
  return body;
}

/** Segments a node cut for a stream, from its log: msn -> epoch -> renditions. */
function producedSegments(node: SystemNode, streamId: string): { msn: number; epoch: number; rendition: string }[] {
  const marker = `stream/${streamId.slice(0, 8)} segment produced `;
  const out: { msn: number; epoch: number; rendition: string }[] = [];
  for (const line of node.lines) {
    const at = line.indexOf(marker);
    if (at < 0) continue;
    const match = /rendition=(\S+) msn=(\d+) epoch=(\d+)/.exec(line.slice(at));
    if (match) out.push({ rendition: match[1]!, msn: Number(match[2]), epoch: Number(match[3]) });
  }
  return out;
}

/** The node's `ingest_segments_produced_total` for the stream (summed over renditions) and its upload backlog. */
async function nodeMetrics(node: SystemNode, streamId: string): Promise<{ produced: number; backlog: number }> {
  const text = await (await fetch(`${node.opsUrl}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
  let produced = 0;
  let backlog = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`ingest_segments_produced_total{stream="${streamId}"`)) produced += Number(line.split(" ").at(-1));
    if (line.startsWith("ingest_upload_backlog_objects ")) backlog = Number(line.split(" ")[1]);
  }
  return { produced, backlog };
}

/** One segment as the follower first saw it listed. */
interface Listed {
  variant: string;
  msn: number;
  url: string;
  mapUrl: string | null;
  gap: boolean;
  discontinuity: boolean;
}

/** Playlist polls give up quickly (a restarting edge may hold them); object fetches wait longer and retry. */
const PLAYLIST_TIMEOUT_MS = 1500;

/**
 * Reads a stream the way a player does, every `intervalMs`: the master playlist, every media playlist it names, and
 * (in the background) every object they list, once. Records what was listed, what each fetch answered, and playlist
 * failures once the stream had started playing.
 */
class Follower {
  readonly listed = new Map<string, Map<number, Listed>>();
  readonly objectStatus = new Map<string, number>();
  readonly playlistFailures: string[] = [];
  /** Polls that could not reach the edge at all (it was down). */
  unreachable = 0;
  polls = 0;
  private readonly masterUrl: string;
  private started = false;
  private running = false;
  private loop: Promise<void> | null = null;
  private fetches: Promise<void> = Promise.resolve();

  constructor(streamId: string) {
    this.masterUrl = system.url(`/live/${streamId}/master.m3u8?vsid=fault-follower`);
  }

  // Polls often, with short timeouts: after an outage the node replays faster than real time and the 15-segment
  // window slides quickly, so a follower stuck on a hanging request would miss segments that were listed.
  start(intervalMs = 100): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.poll().catch(() => {});
        await sleep(intervalMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.fetches;
  }

  /** One more poll now (after the publisher left), then every queued object fetch. */
  async settle(): Promise<void> {
    await this.poll();
    await this.fetches;
  }

  /** GETs `url` and reads the body; null when the edge could not be reached or the answer was cut (edge down). */
  private async get(url: string, timeoutMs = 5000): Promise<{ status: number; text: string } | null> {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      return { status: response.status, text: await response.text() };
    } catch {
      this.unreachable++;
      return null;
    }
  }

  private async poll(): Promise<void> {
    this.polls++;
    const master = await this.get(this.masterUrl, PLAYLIST_TIMEOUT_MS);
    if (!master) return;
    const masterText = master.text;
    if (master.status !== 200) {
      if (this.started) this.playlistFailures.push(`${master.status} master`);
      return;
    }
    this.started = true;
    const variants = (HLS.parse(masterText) as MasterPlaylist).variants.map((v) => new URL(v.uri, this.masterUrl).toString());
    await Promise.all(
      variants.map(async (variantUrl) => {
        const response = await this.get(variantUrl, PLAYLIST_TIMEOUT_MS);
        if (!response) return;
        const text = response.text;
        if (response.status !== 200) {
          this.playlistFailures.push(`${response.status} ${variantUrl}`);
          return;
        }
        this.record(variantUrl, HLS.parse(text) as MediaPlaylist);
      }),
    );
  }

  private record(variantUrl: string, playlist: MediaPlaylist): void {
    let seen = this.listed.get(variantUrl);
    if (!seen) {
      seen = new Map();
      this.listed.set(variantUrl, seen);
    }
    for (const segment of playlist.segments) {
      if (seen.has(segment.mediaSequenceNumber)) continue;
      const entry: Listed = {
        variant: variantUrl,
        msn: segment.mediaSequenceNumber,
        url: new URL(segment.uri, variantUrl).toString(),
        mapUrl: segment.map ? new URL(segment.map.uri, variantUrl).toString() : null,
        gap: segment.gap === true,
        discontinuity: segment.discontinuity === true,
      };
      seen.set(entry.msn, entry);
      if (!entry.gap) this.fetchOnce(entry.url);
      if (entry.mapUrl) this.fetchOnce(entry.mapUrl);
    }
  }

  private fetchOnce(url: string): void {
    if (this.objectStatus.has(url)) return;
    this.objectStatus.set(url, 0);
    this.fetches = this.fetches.then(async () => {
      // The edge may be down right now (case b): retry until it answers, for as long as the follower runs.
      for (;;) {
        const response = await this.get(url);
        if (response || !this.running) {
          this.objectStatus.set(url, response?.status ?? -1);
          return;
        }
        await sleep(500);
      }
    });
  }

  /** Listed (non-gap) segments per msn, across variants. */
  listedPerMsn(): Map<number, number> {
    const out = new Map<number, number>();
    for (const seen of this.listed.values()) {
      for (const entry of seen.values()) if (!entry.gap) out.set(entry.msn, (out.get(entry.msn) ?? 0) + 1);
    }
    return out;
  }

  /** Every listed entry of one msn, across variants. */
  entries(msn: number): Listed[] {
    return [...this.listed.values()].flatMap((seen) => (seen.has(msn) ? [seen.get(msn)!] : []));
  }

  gaps(): number {
    return [...this.listed.values()].reduce((n, seen) => n + [...seen.values()].filter((e) => e.gap).length, 0);
  }

  /** Objects a playlist listed that did not answer 200. */
  missing(): string[] {
    return [...this.objectStatus].filter(([, status]) => status !== 200).map(([url, status]) => `${status} ${url}`);
  }
}

/** The figures of one case: produced at the node(s) vs listed and fetchable at the edge. */
interface Tally {
  produced: number;
  listed: number;
  lost: number;
  listedButMissing: number;
  gaps: number;
  fetched: number;
  playlistFailures: number;
}

function tally(follower: Follower, produced: { msn: number }[]): Tally {
  const perMsn = new Map<number, number>();
  for (const p of produced) perMsn.set(p.msn, (perMsn.get(p.msn) ?? 0) + 1);
  const listed = follower.listedPerMsn();
  let lost = 0;
  for (const [msn, count] of perMsn) lost += Math.max(0, count - (listed.get(msn) ?? 0));
  return {
    produced: produced.length,
    listed: [...listed.values()].reduce((a, b) => a + b, 0),
    lost,
    listedButMissing: follower.missing().length,
    gaps: follower.gaps(),
    fetched: [...follower.objectStatus.values()].filter((s) => s === 200).length,
    playlistFailures: follower.playlistFailures.length,
  };
}

function report(name: string, figures: Tally & Record<string, unknown>): void {
  console.log(
    `[faults] ${name}: ${Object.entries(figures)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}`,
  );
}

/** Waits until the edge lists every segment the node(s) cut so far (per msn, across renditions). */
async function caughtUp(follower: Follower, produced: () => { msn: number }[], timeoutMs: number): Promise<void> {
  await eventually(
    "the edge to list every segment the node cut",
    timeoutMs,
    async () => {
      const segments = produced();
      return segments.length > 0 && tally(follower, segments).lost === 0 ? true : undefined;
    },
    200,
  );
}

/** Waits until the node cut at least `count` segments of each of `renditions` renditions past `sinceMsn`. */
async function segmentsCut(node: SystemNode, streamId: string, count: number, timeoutMs: number, sinceMsn = -1): Promise<void> {
  await eventually(
    `${count} segments per rendition from ${node.nodeId}`,
    timeoutMs,
    async () => {
      const perRendition = new Map<string, number>();
      for (const p of producedSegments(node, streamId)) if (p.msn > sinceMsn) perRendition.set(p.rendition, (perRendition.get(p.rendition) ?? 0) + 1);
      return perRendition.size >= 3 && [...perRendition.values()].every((n) => n >= count) ? true : undefined;
    },
    250,
  );
}

/** The ingest protocols a case publishes with. */
type Protocol = "rtmp" | "srt" | "whip";

/** A running publisher of any protocol. */
interface Publisher {
  /** Ends the publish the polite way (RTMP and SRT: FFmpeg closes its connection; WHIP: DELETE on the session). */
  stop(): Promise<unknown>;
  /**
   * Ends it the way a failing uplink does: RTMP stops as OBS does before it reconnects; SRT's FFmpeg is killed, so
   * the node learns of it only from the link's silence; the WHIP peer vanishes without a DELETE.
   */
  drop(): Promise<unknown>;
  /** True once it gave up on its own (FFmpeg exited, or the WHIP offer was refused). */
  gone(): boolean;
}

/** Publishers the running case started; each is dropped after the case (a no-op for those it already stopped). */
const startedInCase: Publisher[] = [];

/**
 * Starts publishing `stream` to `node`: FFmpeg over RTMP, FFmpeg (MPEG-TS) to the node's SRT port, or the werift WHIP
 * client (H.264 + Opus) to the stream's WHIP URL.
 */
async function startPublisher(node: SystemNode, stream: Stream, protocol: Protocol): Promise<Publisher> {
  const publisher = await startPublisherOf(node, stream, protocol);
  startedInCase.push(publisher);
  return publisher;
}

/** Starts the publisher of `protocol` (startPublisher's work, before it is recorded). */
async function startPublisherOf(node: SystemNode, stream: Stream, protocol: Protocol): Promise<Publisher> {
  if (protocol === "whip") {
    try {
      const client = await startWhipClient({ url: stream.whip_url!, streamKey: stream.stream_key });
      return { stop: () => client.stop(), drop: () => client.stop({ withoutDelete: true }), gone: () => false };
    } catch (err) {
      if (err instanceof WhipClientError) return { stop: async () => {}, drop: async () => {}, gone: () => true };
      throw err;
    }
  }
  const publisher =
    protocol === "srt"
      ? system.publish(`srt://127.0.0.1:${node.srtPort}?streamid=${stream.stream_key}`, { format: "mpegts" })
      : system.publish(`${node.rtmpUrl}/${stream.stream_key}`);
  const drop = async () => {
    if (protocol === "rtmp") return publisher.stop();
    publisher.child.kill("SIGKILL");
    await publisher.exited;
  };
  return { stop: () => publisher.stop(), drop, gone: () => publisher.child.exitCode !== null || publisher.child.signalCode !== null };
}

/** Publishes `stream` to `node`, retrying (as OBS does) while the edge refuses; resolves once the node accepted it. */
async function publishUntilAccepted(
  node: SystemNode,
  stream: Stream,
  timeoutMs: number,
  protocol: Protocol = "rtmp",
): Promise<{ publisher: Publisher; attempts: number; ms: number }> {
  const started = Date.now();
  for (let attempts = 1; Date.now() - started < timeoutMs; attempts++) {
    const mark = node.lines.length;
    const publisher = await startPublisher(node, stream, protocol);
    const outcome = await eventually(
      "the node to accept or refuse the publish",
      10_000,
      async () => {
        const lines = node.lines.slice(mark);
        if (lines.some((l) => l.includes("publish accepted") && l.includes(`stream=${stream.stream_id}`))) return "accepted";
        if (lines.some((l) => l.includes("publish refused"))) return "refused";
        if (publisher.gone()) return "exited";
        return undefined;
      },
      100,
    );
    if (outcome === "accepted") return { publisher, attempts, ms: Date.now() - started };
    await publisher.stop();
    await sleep(500);
  }
  throw new Error(`${node.nodeId} did not accept a publish of ${stream.stream_id} within ${timeoutMs} ms`);
}

/** Stops the publisher and waits until the node handed the broadcast back (flushed, unpublished). */
async function stopPublisher(node: SystemNode, stream: Stream, publisher: Publisher): Promise<void> {
  const before = node.lines.filter((l) => l.includes(`stream/${stream.stream_id.slice(0, 8)} broadcast handed back`)).length;
  await publisher.stop();
  await eventually("the node to hand the broadcast back", 30_000, async () =>
    node.lines.filter((l) => l.includes(`stream/${stream.stream_id.slice(0, 8)} broadcast handed back`)).length > before ? true : undefined,
  ).catch((err: Error) => {
    // The stream's last node lines say where it stopped.
    const lines = node.lines.filter((l) => l.includes(stream.stream_id.slice(0, 8))).slice(-15);
    throw new Error(`${err.message} (${stream.stream_id.slice(0, 8)})\n${lines.join("\n")}`);
  });
}

/** Ends the broadcast and checks the figures: nothing lost, nothing listed that is missing, playlists never 404. */
async function finish(name: string, stream: Stream, follower: Follower, produced: { msn: number }[], extra: Record<string, unknown> = {}): Promise<Tally> {
  await follower.settle();
  await follower.stop();
  const figures = tally(follower, produced);
  report(name, { ...figures, ...extra });
  expect(figures.produced).toBeGreaterThan(0);
  expect(figures.lost, "segments the node cut that the edge never listed").toBe(0);
  expect(follower.missing(), "listed objects that did not answer 200").toEqual([]);
  expect(follower.playlistFailures, "playlist requests that failed while the stream played").toEqual([]);
  const stopped = await system.api<Stream>("POST", `/streams/${stream.stream_id}/stop`);
  expect(stopped.status).toBe(200);
  return figures;
}

// ---- cases --------------------------------------------------------------------------------------------------------

describe("regions", () => {
  it("lists both regions with their node, and gives a stream its region's node", async () => {
    const regions = await eventually("both nodes registered", 15_000, async () => {
      const { body } = await system.api<Regions>("GET", "/regions");
      const ids = body.regions.flatMap((r) => r.nodes.map((n) => n.id));
      return ids.includes(eu.nodeId) && ids.includes(us.nodeId) ? body : undefined;
    });
    expect(regions.regions.find((r) => r.region === "eu")?.nodes).toEqual([expect.objectContaining({ id: eu.nodeId, rtmp_url: eu.rtmpUrl })]);
    expect(regions.regions.find((r) => r.region === "us")?.nodes).toEqual([expect.objectContaining({ id: us.nodeId, rtmp_url: us.rtmpUrl })]);
    const stream = await createStream("region check", "us");
    expect(stream).toMatchObject({ region: "us", ingest_server: us.rtmpUrl });
    expect((await system.api("POST", "/streams", { title: "x", region: "mars" })).status).toBe(400);
  });
});

describe("(d) two publishers with one key", () => {
  it("refuses the second, on the other node (edge: 409) and on the same node, without disturbing the first", async () => {
    const stream = await createStream("two publishers", "eu");
    expect(stream.ingest_server).toBe(eu.rtmpUrl);
    const follower = new Follower(stream.stream_id);
    follower.start();
    const { publisher } = await publishUntilAccepted(eu, stream, 15_000);
    await segmentsCut(eu, stream.stream_id, 2, 20_000);
    const first = await streamStatus(stream.stream_id);
    expect(first.health).toMatchObject({ ingest_connected: true, node_id: eu.nodeId });

    const usMark = us.lines.length;
    const other = system.publish(`${us.rtmpUrl}/${stream.stream_key}`);
    await eventually("the us node to refuse", 10_000, async () =>
      us.lines.slice(usMark).some((l) => l.includes("publish refused: this stream is already being published")) ? true : undefined,
    );
    const otherExit = await Promise.race([other.exited, sleep(10_000).then(() => "still running")]);
    expect(otherExit).not.toBe("still running");

    const euMark = eu.lines.length;
    const same = system.publish(`${eu.rtmpUrl}/${stream.stream_key}`);
    await eventually("the eu node to refuse", 10_000, async () =>
      eu.lines.slice(euMark).some((l) => l.includes("publish refused: this stream key is already publishing on this node")) ? true : undefined,
    );
    const sameExit = await Promise.race([same.exited, sleep(10_000).then(() => "still running")]);
    expect(sameExit).not.toBe("still running");

    // The first publish is untouched: same epoch, still connected, still producing.
    const cutBefore = producedSegments(eu, stream.stream_id).length;
    await segmentsCut(eu, stream.stream_id, 1, 10_000, Math.max(...producedSegments(eu, stream.stream_id).map((p) => p.msn)));
    const after = await streamStatus(stream.stream_id);
    expect(after.health).toMatchObject({ ingest_connected: true, node_id: eu.nodeId, epoch: first.health.epoch });
    expect(producedSegments(eu, stream.stream_id).length).toBeGreaterThan(cutBefore);

    await stopPublisher(eu, stream, publisher);
    const produced = producedSegments(eu, stream.stream_id);
    expect(produced.every((p) => p.epoch === first.health.epoch)).toBe(true);
    await caughtUp(follower, () => produced, 10_000);
    const metrics = await nodeMetrics(eu, stream.stream_id);
    expect(metrics.produced).toBe(produced.length);
    await finish("(d) two publishers", stream, follower, produced, { refused: 2, metric_produced: metrics.produced });
  });
});

describe("(c) the publisher drops and reconnects to the same node (RTMP stops, SRT's link dies, the WHIP peer vanishes)", () => {
  it("each broadcast continues under a new epoch with a discontinuity; nothing lost", async () => {
    // One stream per protocol at once, each dropped its own protocol's way (see Publisher.drop). The first publishes
    // start together: nothing refuses them, so a refusal line naming no stream cannot be misread.
    const lanes = await Promise.all(
      (["rtmp", "srt", "whip"] as const).map(async (protocol) => {
        const stream = await createStream(`reconnect same node ${protocol}`, "eu");
        const follower = new Follower(stream.stream_id);
        follower.start();
        const { publisher } = await publishUntilAccepted(eu, stream, 15_000, protocol);
        return { protocol, stream, follower, publisher };
      }),
    );
    await Promise.all(lanes.map((lane) => segmentsCut(eu, lane.stream.stream_id, 2, 25_000)));
    const before = await Promise.all(lanes.map((lane) => streamStatus(lane.stream.stream_id)));
    const dropAt = Date.now();
    await Promise.all(lanes.map((lane) => lane.publisher.drop()));
    // Reconnect at once, as OBS would; the edge (or the node, until it noticed a dead SRT link or a vanished WHIP
    // peer) refuses until the old publish is flushed. One at a time: a refusal's log line names no stream.
    const reconnects: { attempts: number; ms: number }[] = [];
    for (const lane of lanes) {
      const second = await publishUntilAccepted(eu, lane.stream, 25_000, lane.protocol);
      lane.publisher = second.publisher;
      reconnects.push({ attempts: second.attempts, ms: Date.now() - dropAt });
    }
    const lastOld = lanes.map((lane, i) =>
      Math.max(
        ...producedSegments(eu, lane.stream.stream_id)
          .filter((p) => p.epoch === before[i]!.health.epoch)
          .map((p) => p.msn),
      ),
    );
    await Promise.all(lanes.map((lane, i) => segmentsCut(eu, lane.stream.stream_id, 3, 25_000, lastOld[i])));
    const after = await Promise.all(lanes.map((lane) => streamStatus(lane.stream.stream_id)));
    for (const [i, lane] of lanes.entries()) {
      expect(after[i]!.status, lane.protocol).toBe("live");
      expect(after[i]!.started_at, lane.protocol).toBe(before[i]!.started_at);
      expect(after[i]!.health.epoch, lane.protocol).toBeGreaterThan(before[i]!.health.epoch!);
    }

    await Promise.all(lanes.map((lane) => stopPublisher(eu, lane.stream, lane.publisher)));
    for (const [i, { protocol, stream, follower }] of lanes.entries()) {
      const produced = producedSegments(eu, stream.stream_id);
      await caughtUp(follower, () => produced, 10_000);
      const firstNew = Math.min(...produced.filter((p) => p.epoch === after[i]!.health.epoch).map((p) => p.msn));
      expect(firstNew, protocol).toBe(lastOld[i]! + 1);
      expect(follower.entries(firstNew).length, protocol).toBeGreaterThan(0);
      // On a failure, say which renditions' first new segment lacks the discontinuity, and each epoch's ladder.
      const boundary = follower.entries(firstNew).map((e) => `${e.url.split("/").slice(-3).join("/")} discontinuity=${e.discontinuity}`);
      const ladders = eu.lines.filter((l) => l.includes(`stream/${stream.stream_id.slice(0, 8)} transcoding `)).map((l) => l.slice(l.indexOf("renditions=")));
      expect(
        follower.entries(firstNew).every((e) => e.discontinuity),
        `${protocol}: ${boundary.join(", ")}; ladders: ${ladders.join(" | ")}`,
      ).toBe(true);
      await finish(`(c) reconnect same node, ${protocol}`, stream, follower, produced, {
        reconnect_attempts: reconnects[i]!.attempts,
        back_after_ms: reconnects[i]!.ms,
        epochs: `${before[i]!.health.epoch}->${after[i]!.health.epoch}`,
        msn_boundary: `${lastOld[i]}|${firstNew}`,
      });
    }
  });
});

/** A raw HTTP request (no URL normalization, so `../` reaches the server as sent). */
function rawRequest(method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(system.url("/"));
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port: Number(port), method, path, headers, timeout: 10_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * Sends the forged uploads of case (f) for stream `id`, live under `epoch`, checks that each is refused, and returns
 * each one's status: a wrong, a missing and the bootstrap credential (401), another node's valid one (409), oversized
 * bodies declared and streamed (413), and path traversal raw and encoded (400 or 404).
 */
async function forgedUploads(id: string, epoch: number): Promise<Record<string, number>> {
  const meta = (msn: number) => JSON.stringify({ epoch, msn, duration: 2, program_date_time: new Date().toISOString(), parts: 0 });
  const put = (path: string, headers: Record<string, string>, body: RequestInit["body"], init: RequestInit = {}) =>
    fetch(system.url(path), { method: "PUT", headers: { "content-type": "video/mp4", ...headers }, body, ...init }).then(async (r) => ({
      status: r.status,
      body: await r.text(),
    }));
  const results: Record<string, number> = {};

  // Forged: a wrong bearer, no bearer, the eu node's id with someone else's secret.
  const forged = await put(
    `/ingest/v1/streams/${id}/renditions/r1/segments/999`,
    { authorization: "Bearer forged-secret", "x-node-id": eu.nodeId, "x-media-meta": meta(999) },
    randomBytes(1000),
  );
  results.forged = forged.status;
  expect(forged.status).toBe(401);
  results.no_credential = (
    await put(`/ingest/v1/streams/${id}/renditions/r1/segments/999`, { "x-node-id": eu.nodeId, "x-media-meta": meta(999) }, randomBytes(1000))
  ).status;
  expect(results.no_credential).toBe(401);
  // The bootstrap secret registers nodes and does nothing else (401).
  results.bootstrap_secret = (
    await put(
      `/ingest/v1/streams/${id}/renditions/r1/segments/999`,
      { authorization: `Bearer ${INGEST_SECRET}`, "x-node-id": eu.nodeId, "x-media-meta": meta(999) },
      randomBytes(1000),
    )
  ).status;
  expect(results.bootstrap_secret).toBe(401);
  // A valid credential, but not the node that holds the stream's lease: fenced (409), nothing listed.
  const intruder = await registerNode(system.edge.url, "intruder-1", "us");
  results.not_lease_holder = (
    await put(
      `/ingest/v1/streams/${id}/renditions/r1/init`,
      {
        authorization: `Bearer ${intruder}`,
        "x-node-id": "intruder-1",
        "x-media-meta": JSON.stringify({ epoch, codecs: "avc1.42c01e", width: 64, height: 64, bandwidth: 1000, frame_rate: 30 }),
      },
      randomBytes(1000),
    )
  ).status;
  expect(results.not_lease_holder).toBe(409);

  // Oversized: declared (Content-Length) and streamed (chunked, no length).
  const auth = { authorization: `Bearer ${intruder}`, "x-node-id": "intruder-1", "x-media-meta": meta(999) };
  results.oversized = (await put(`/ingest/v1/streams/${id}/renditions/r1/segments/999`, auth, new Uint8Array(MAX_MEDIA_BYTES + 1))).status;
  expect(results.oversized).toBe(413);
  const chunks = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 5; i++) controller.enqueue(new Uint8Array(1024 * 1024));
      controller.close();
    },
  });
  const chunked = await put(`/ingest/v1/streams/${id}/renditions/r1/segments/999`, auth, chunks, { duplex: "half" } as RequestInit);
  results.oversized_chunked = chunked.status;
  expect(chunked.status, chunked.body.slice(0, 500)).toBe(413);

  // Path traversal, raw (no client-side normalization) and encoded.
  const traversal = {
    raw: `/ingest/v1/streams/${id}/renditions/../../../../live/${id}/segments/999`,
    raw_rendition: `/ingest/v1/streams/${id}/renditions/..%2f..%2fx/segments/999`,
    encoded_dots: `/ingest/v1/streams/${id}/renditions/%2e%2e/segments/999`,
    encoded_both: `/ingest/v1/streams/${id}/renditions/%2e%2e%2f%2e%2e/init`,
    stream_id: `/ingest/v1/streams/..%2f${id}/renditions/r1/segments/999`,
  };
  for (const [name, path] of Object.entries(traversal)) {
    // A valid credential (the intruder's own), so each one reaches the path checks.
    const answer = await rawRequest("PUT", path, { ...auth, "content-type": "video/mp4", "x-media-meta": meta(999) }, randomBytes(1000));
    results[`traversal_${name}`] = answer.status;
    expect([400, 404], `${name}: ${answer.status} ${answer.body.slice(0, 200)}`).toContain(answer.status);
  }
  return results;
}

describe("(e) garbage and a slowloris on the RTMP port, and (f) forged, oversized and path-traversal uploads to the ingest API, during one live stream", () => {
  it("drops the abusive connections and refuses each upload; the stream carries on and loses nothing", async () => {
    // One publish for both attacks: the uploads are made while the node still holds the slowloris (about 10 s).
    const stream = await createStream("abuse and forged uploads", "eu");
    const follower = new Follower(stream.stream_id);
    follower.start();
    const { publisher } = await publishUntilAccepted(eu, stream, 15_000);
    await segmentsCut(eu, stream.stream_id, 1, 20_000);
    const epoch = (await streamStatus(stream.stream_id)).health.epoch!;

    const { sockets, open, closeAll } = rtmpAbuse("127.0.0.1", eu.rtmpPort);
    let results: Record<string, number>;
    try {
      open("garbage", (socket) => void socket.write(randomBytes(16 * 1024)));
      open("garbage-v3", (socket) => void socket.write(Buffer.concat([Buffer.from([3]), randomBytes(8192)])));
      open("slowloris", (socket) => setInterval(() => !socket.destroyed && socket.write(Buffer.from([3])), 1000));
      results = await forgedUploads(stream.stream_id, epoch);
      await eventually("every abusive connection to be dropped", 15_000, async () => (sockets.every((s) => s.closedAt !== null) ? true : undefined), 250);
    } finally {
      closeAll();
    }
    const held = Object.fromEntries(sockets.map((s) => [s.name, (s.closedAt ?? Date.now()) - s.openedAt]));
    for (const [name, ms] of Object.entries(held)) expect(ms, `${name} held ${ms} ms`).toBeLessThanOrEqual(12_500);
    expect((await fetch(`${eu.opsUrl}/healthz`)).status).toBe(200);

    // The stream carried on, under the same epoch; nothing it lists came from the forged uploads.
    await segmentsCut(eu, stream.stream_id, 2, 15_000);
    expect((await streamStatus(stream.stream_id)).health).toMatchObject({ ingest_connected: true, epoch, node_id: eu.nodeId });
    await stopPublisher(eu, stream, publisher);
    const produced = producedSegments(eu, stream.stream_id);
    await caughtUp(follower, () => produced, 10_000);
    expect([...follower.listedPerMsn().keys()]).not.toContain(999);
    await finish("(e) garbage+slowloris, (f) forged/oversized/traversal", stream, follower, produced, {
      garbage_ms: held.garbage,
      garbage_v3_ms: held["garbage-v3"],
      slowloris_ms: held.slowloris,
      ...results,
    });
  });
});

describe("(a) kill -9 of the node mid-stream, publisher reconnects to the other region's node", () => {
  it("continues the same broadcast on the us node: msn keeps counting, EXT-X-DISCONTINUITY, no 404 for a listed object", async () => {
    const stream = await createStream("failover", "eu");
    expect(stream.ingest_server).toBe(eu.rtmpUrl);
    const follower = new Follower(stream.stream_id);
    follower.start();
    const first = await publishUntilAccepted(eu, stream, 15_000);
    await segmentsCut(eu, stream.stream_id, 3, 25_000);
    // Kill it once the edge holds everything the node cut so far (what was cut but not uploaded dies with it).
    await caughtUp(follower, () => producedSegments(eu, stream.stream_id), 20_000);
    const before = await streamStatus(stream.stream_id);
    const lastCut = eu.lines.filter((l) => l.includes(`stream/${stream.stream_id.slice(0, 8)} segment produced`)).at(-1) ?? "";
    const killedAt = Date.now();
    await system.killNode(0);
    // Mid-segment: the segment being cut (and the media the publisher sends until it reconnects) dies with the node.
    const killedAfterLastSegmentMs = killedAt - Date.parse(lastCut.split(" ")[0] ?? "");
    const producedA = producedSegments(eu, stream.stream_id);
    await first.publisher.stop();

    const second = await publishUntilAccepted(us, stream, 30_000);
    const lastA = Math.max(...producedA.map((p) => p.msn));
    await segmentsCut(us, stream.stream_id, 3, 25_000);
    const after = await streamStatus(stream.stream_id);
    expect(after).toMatchObject({ status: "live", started_at: before.started_at });
    expect(after.health.node_id).toBe(us.nodeId);
    expect(after.health.epoch).toBeGreaterThan(before.health.epoch!);

    // The dead node drops out of the registry; a rotated key points at the live one.
    const regions = await eventually(
      "the killed node to become unhealthy",
      25_000,
      async () => {
        const { body } = await system.api<Regions>("GET", "/regions");
        return body.regions.find((r) => r.region === "eu")?.nodes.length === 0 ? body : undefined;
      },
      1000,
    );
    expect(regions.regions.find((r) => r.region === "us")?.nodes.map((n) => n.id)).toEqual([us.nodeId]);
    const unhealthyAfterMs = Date.now() - killedAt;
    const rotated = await system.api<Stream>("POST", `/streams/${stream.stream_id}/key`);
    expect(rotated.body).toMatchObject({ region: "us", ingest_server: us.rtmpUrl });

    await stopPublisher(us, stream, second.publisher);
    const producedB = producedSegments(us, stream.stream_id);
    await caughtUp(follower, () => [...producedA, ...producedB], 10_000);
    const firstB = Math.min(...producedB.map((p) => p.msn));
    expect(firstB).toBe(lastA + 1);
    expect(follower.entries(firstB).length).toBeGreaterThan(0);
    expect(follower.entries(firstB).every((e) => e.discontinuity)).toBe(true);
    const msns = [...follower.listedPerMsn().keys()].sort((a, b) => a - b);
    expect(msns).toEqual(Array.from({ length: msns.length }, (_, i) => msns[0]! + i));
    await finish("(a) kill -9 + cross-node failover", stream, follower, [...producedA, ...producedB], {
      produced_eu: producedA.length,
      produced_us: producedB.length,
      reconnect_attempts: second.attempts,
      failover_ms: second.ms,
      epochs: `${before.health.epoch}->${after.health.epoch}`,
      msn_boundary: `${lastA}|${firstB}`,
      unhealthy_after_ms: unhealthyAfterMs,
      killed_ms_after_last_cut: killedAfterLastSegmentMs,
    });
    // The eu node stays down: the cases that follow run on the us node and on a node of their own.
  });
});

describe("(b) the edge is down for 30 s while an RTMP, an SRT and a WHIP publisher keep publishing", () => {
  // A longer timeout than the file's: a 30 s outage, then a drain whose pace is the loaded machine's.
  it("the node buffers (backlog rises) and replays each stream in order; playlists catch up; nothing lost", async () => {
    // One stream per protocol on the same node at once: the outage (and the node's spool and replay) is the same for
    // all three, so each is audited with the same counts for the price of one outage.
    const protocols: Protocol[] = ["rtmp", "srt", "whip"];
    const lanes: { protocol: Protocol; stream: Stream; follower: Follower }[] = [];
    for (const protocol of protocols) {
      const stream = await createStream(`edge outage ${protocol}`, "us");
      const follower = new Follower(stream.stream_id);
      follower.start();
      lanes.push({ protocol, stream, follower });
    }
    expect(lanes[2]!.stream.whip_url, "the us node offers WHIP").toMatch(/^http:\/\/127\.0\.0\.1:\d+\/whip\//);
    // Started together: nothing refuses a first publish while the edge is up.
    const publishers = await Promise.all(lanes.map(async (lane) => (await publishUntilAccepted(us, lane.stream, 15_000, lane.protocol)).publisher));
    await Promise.all(lanes.map((lane) => segmentsCut(us, lane.stream.stream_id, 2, 25_000)));
    // A fixed target (what was cut by now), not a moving one: with three streams cutting, a loaded machine can keep the
    // newest segment in flight at every poll, and "everything cut so far is listed" then never holds at one instant.
    const cutBeforeOutage = lanes.map((lane) => producedSegments(us, lane.stream.stream_id));
    await Promise.all(lanes.map((lane, i) => caughtUp(lane.follower, () => cutBeforeOutage[i]!, 30_000)));
    const before = await Promise.all(lanes.map((lane) => streamStatus(lane.stream.stream_id)));

    const downAt = Date.now();
    await system.stopEdge();
    let maxBacklog = 0;
    while (Date.now() - downAt < EDGE_OUTAGE_MS) {
      maxBacklog = Math.max(maxBacklog, (await nodeMetrics(us, lanes[0]!.stream.stream_id)).backlog);
      await sleep(1000);
    }
    const producedDuringOutage = lanes.map(
      (lane) => producedSegments(us, lane.stream.stream_id).filter((p) => p.msn > Math.max(...lane.follower.listedPerMsn().keys())).length,
    );
    await system.startEdge();
    const upAt = Date.now();
    // Its pace is the edge's (wrangler dev) under whatever else the machine runs: 25-52 s here, so a wide bound.
    await eventually(
      "the node's backlog to drain",
      150_000,
      async () => ((await nodeMetrics(us, lanes[0]!.stream.stream_id)).backlog === 0 ? true : undefined),
      500,
    );
    const drainedMs = Date.now() - upAt;
    // Everything cut until the backlog drained is uploaded; the playlists must list it (a fixed target, as above).
    const cutUntilDrained = lanes.map((lane) => producedSegments(us, lane.stream.stream_id));
    await Promise.all(lanes.map((lane, i) => caughtUp(lane.follower, () => cutUntilDrained[i]!, 30_000)));
    const caughtUpMs = Date.now() - upAt;
    for (const [i, lane] of lanes.entries()) {
      const after = await streamStatus(lane.stream.stream_id);
      expect(after, lane.protocol).toMatchObject({ status: "live", started_at: before[i]!.started_at });
      expect(after.health.epoch, lane.protocol).toBe(before[i]!.health.epoch);
    }

    // The outage is the edge's, not the publishers': none of them was let go (a test process that blocked its event loop
    // while restarting the edge once silenced its WHIP client for 3 s, and the node rightly ended that publish).
    for (const lane of lanes) {
      const left = us.lines.filter((l) => l.includes(`stream/${lane.stream.stream_id.slice(0, 8)} publisher left`));
      expect(left, `${lane.protocol}: the node let the publisher go during the outage`).toEqual([]);
    }
    await Promise.all(lanes.map((lane, i) => stopPublisher(us, lane.stream, publishers[i]!)));
    expect(maxBacklog).toBeGreaterThanOrEqual(10);
    for (const [i, { protocol, stream, follower }] of lanes.entries()) {
      const produced = producedSegments(us, stream.stream_id);
      await caughtUp(follower, () => produced, 10_000);
      const msns = [...follower.listedPerMsn().keys()].sort((a, b) => a - b);
      expect(msns, protocol).toEqual(Array.from({ length: msns.length }, (_, j) => msns[0]! + j));
      expect(follower.gaps(), protocol).toBe(0);
      const metrics = await nodeMetrics(us, stream.stream_id);
      expect(metrics.produced, protocol).toBe(produced.length);
      await finish(`(b) edge down 30 s, ${protocol}`, stream, follower, produced, {
        outage_ms: upAt - downAt,
        produced_during_outage: producedDuringOutage[i],
        max_backlog_objects: maxBacklog,
        drained_after_ms: drainedMs,
        listed_after_ms: caughtUpMs,
        unreachable_polls: follower.unreachable,
      });
    }
  }, 330_000);
});

describe("(g) an expired node credential", () => {
  it("works until it expires; then the node's publish is refused with 401", async () => {
    const minted = await system.api<{ credential: string; expires_at: string }>("POST", "/nodes/eu-minted-1/credentials", { region: "eu", expires_in: 8 });
    expect(minted.status).toBe(201);
    const node = await system.addNode({ region: "eu", nodeId: "eu-minted-1", nodeToken: minted.body.credential });
    // Its heartbeat was accepted: it is registered and healthy.
    // Its first heartbeat follows its start-up, which a machine still busy with the cases before can slow.
    await eventually("the minted node to register", 30_000, async () => {
      const { body } = await system.api<Regions>("GET", "/regions");
      return body.regions.find((r) => r.region === "eu")?.nodes.some((n) => n.id === node.nodeId) ? true : undefined;
    });
    const stream = await createStream("expired credential", "eu");
    await sleep(Math.max(0, Date.parse(minted.body.expires_at) - Date.now() + 500));
    const mark = node.lines.length;
    const publisher = system.publish(`${node.rtmpUrl}/${stream.stream_key}`);
    const refusal = await eventually("the node to refuse the publish", 15_000, async () => node.lines.slice(mark).find((l) => l.includes("publish refused")));
    expect(refusal).toContain("status=401");
    expect(refusal).toMatch(/expired/);
    const exit = await Promise.race([publisher.exited, sleep(10_000).then(() => "still running")]);
    expect(exit).not.toBe("still running");
    const status = await streamStatus(stream.stream_id);
    expect(status.status).toBe("offline");
    const produced = producedSegments(node, stream.stream_id);
    report("(g) expired node credential", {
      produced: produced.length,
      listed: 0,
      lost: 0,
      listedButMissing: 0,
      gaps: 0,
      fetched: 0,
      playlistFailures: 0,
      refusal_status: 401,
    });
    expect(produced).toEqual([]);
    expect((await fetch(system.url(`/live/${stream.stream_id}/master.m3u8`))).status).toBe(404);
  });
});
