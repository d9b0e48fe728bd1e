// The RTMP listener's limits against a real ingest node and edge while a real publisher is live: the
// chunk-header flood and its buffer-filling variant leave the node's memory flat and are closed by the node, the
// live stream loses nothing; connection caps and MAX_PUBLISHES refuse clearly; broken metadata ends its publish.
import { readFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import HLS from "hls-parser";
import type { MasterPlaylist, MediaPlaylist } from "hls-parser/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestPublisher } from "../../scripts/lib/test-publisher.ts";
import { announce, announceFlood, ATTACK_CHUNK_STREAMS, handshake, setChunkSize } from "../unit/ingest-node/rtmp/rtmp-bytes.ts";
import { eventually, startSystem, type SystemNode, type TestSystem } from "./harness.ts";
import { rtmpAbuse } from "./rtmp-abuse.ts";

/** Connections from one IP: the live publisher and three attackers fit, the cap case fills the rest. */
const PER_IP = 5;
/** Total connections (the cap case reaches it from other loopback addresses). */
const TOTAL = 8;
/** Bytes each buffer-filling attacker tries to send (what the node would hold resident without the guard). */
const FILL_BYTES = 128 * 1024 * 1024;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let system: TestSystem;
let node: SystemNode;

beforeAll(async () => {
  system = await startSystem({
    nodeEnv: { MAX_PUBLISHES: "1", RTMP_MAX_CONNECTIONS_PER_IP: String(PER_IP), RTMP_MAX_CONNECTIONS: String(TOTAL) },
  });
  node = system.nodes[0]!;
}, 120_000);

afterAll(async () => {
  await system?.stop();
});

// ---- helpers ----------------------------------------------------------------------------------------------------

interface Stream {
  stream_id: string;
  stream_key: string;
}

async function createStream(title: string): Promise<Stream> {
  const { status, body } = await system.api<Stream>("POST", "/streams", { title, latency_mode: "low" });
  expect(status, JSON.stringify(body)).toBe(201);
  return body;
}

/** The node process's virtual size and resident set, in bytes (from /proc/<pid>/status). */
function nodeMemory(): { vm: number; rss: number } {
  const status = readFileSync(`/proc/${node.dev.process.child.pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
  return { vm: kb("VmSize"), rss: kb("VmRSS") };
}

/** Samples the node's memory every 25 ms until stopped; resolves with the peaks. */
function memoryPeaks(): { stop(): Promise<{ vm: number; rss: number }> } {
  const peak = nodeMemory();
  let running = true;
  const loop = (async () => {
    while (running) {
      const now = nodeMemory();
      peak.vm = Math.max(peak.vm, now.vm);
      peak.rss = Math.max(peak.rss, now.rss);
      await sleep(25);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

/** One line of the node's /metrics, summed over the series that match `prefix`. */
async function metric(prefix: string): Promise<number> {
  const text = await (await fetch(`${node.opsUrl}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith(prefix))
    .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
}

/** Reads a stream as a player does (master, every media playlist, every listed segment once) until stopped. */
class Follower {
  readonly listed = new Map<string, Set<number>>();
  readonly status = new Map<string, number>();
  private running = true;
  private fetches: Promise<void> = Promise.resolve();
  private readonly loop: Promise<void>;

  constructor(streamId: string) {
    const master = system.url(`/live/${streamId}/master.m3u8`);
    this.loop = (async () => {
      while (this.running) {
        await this.poll(master).catch(() => {});
        await sleep(200);
      }
    })();
  }

  private async poll(masterUrl: string): Promise<void> {
    const master = await fetch(masterUrl, { signal: AbortSignal.timeout(2000) });
    if (master.status !== 200) return;
    const variants = (HLS.parse(await master.text()) as MasterPlaylist).variants.map((v) => new URL(v.uri, masterUrl).toString());
    await Promise.all(
      variants.map(async (url) => {
        const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
        if (response.status !== 200) return;
        const seen = this.listed.get(url) ?? new Set<number>();
        this.listed.set(url, seen);
        for (const segment of (HLS.parse(await response.text()) as MediaPlaylist).segments) {
          if (segment.gap || seen.has(segment.mediaSequenceNumber)) continue;
          seen.add(segment.mediaSequenceNumber);
          const objectUrl = new URL(segment.uri, url).toString();
          this.fetches = this.fetches.then(async () => {
            const object = await fetch(objectUrl, { signal: AbortSignal.timeout(5000) }).catch(() => null);
            this.status.set(objectUrl, object?.status ?? -1);
            await object?.arrayBuffer();
          });
        }
      }),
    );
  }

  /** Segments listed so far, over every rendition. */
  count(): number {
    return [...this.listed.values()].reduce((n, seen) => n + seen.size, 0);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.fetches;
  }
}

/** Publishes `stream` with the real test publisher; resolves once the node accepted it. */
async function publish(stream: Stream, url = `${node.rtmpUrl}/${stream.stream_key}`): Promise<TestPublisher> {
  const mark = node.lines.length;
  const publisher = system.publish(url);
  await eventually("the node to accept the publish", 30_000, async () =>
    node.lines.slice(mark).some((l) => l.includes("publish accepted") && l.includes(`stream=${stream.stream_id}`)) ? true : undefined,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; node log:\n${node.lines.slice(mark).slice(-15).join("\n")}\npublisher: ${publisher.stderr.slice(-5).join(" | ")}`);
  });
  return publisher;
}

/** Writes what `source` yields to `socket` as fast as it drains, until `limit` bytes were written or the socket closed. */
async function pump(socket: Socket, source: Iterator<Buffer>, limit: number): Promise<number> {
  let written = 0;
  while (written < limit && !socket.destroyed) {
    const next = source.next();
    if (next.done) break;
    written += next.value.length;
    if (!socket.write(next.value))
      await new Promise<void>((resolve) => {
        socket.once("drain", resolve);
        socket.once("close", resolve);
      });
  }
  return written;
}

/** The chunks of one `length`-byte message on a 1-byte chunk stream id, 65536 bytes a chunk (fmt 3 continuations). */
function* messageOnWire(csid: number, length: number, fill: number): Generator<Buffer> {
  const body = Buffer.alloc(65536, fill);
  for (let sent = 0; sent < length; sent += 65536) {
    const part = body.subarray(0, Math.min(65536, length - sent));
    yield Buffer.concat([sent === 0 ? announce(csid, length) : Buffer.from([0xc0 | csid]), part]);
  }
}

/** The buffer-filling variant of the flood: chunk size 65536, then 0xFFFFFF-byte messages sent in full, id after id. */
function* fillFlood(): Generator<Buffer> {
  yield Buffer.concat([handshake(), setChunkSize(65536)]);
  for (const csid of ATTACK_CHUNK_STREAMS.filter((id) => id < 64)) yield* messageOnWire(csid, 0xffffff, 0x55);
}

/** An attacker under every per-message cap: 1 MiB messages on 8 chunk streams, bodies sent, over and over. */
function* underTheCaps(): Generator<Buffer> {
  yield Buffer.concat([handshake(), setChunkSize(65536)]);
  for (;;) for (let csid = 2; csid < 10; csid++) yield* messageOnWire(csid, 1 << 20, 0x33);
}

/** Publishes stop: waits until the node handed the broadcast back to the edge. */
async function stopPublisher(stream: Stream, publisher: TestPublisher): Promise<void> {
  const marker = `stream/${stream.stream_id.slice(0, 8)} broadcast handed back`;
  await publisher.stop();
  await eventually("the node to hand the broadcast back", 20_000, async () => (node.lines.some((l) => l.includes(marker)) ? true : undefined));
}

const MiB = 1024 * 1024;

// ---- cases --------------------------------------------------------------------------------------------------------

describe("a chunk-header flood (317 chunk streams of 16 MiB messages), and variants that fill the buffers, during a live stream", () => {
  it("closes every abusive connection at once, keeps the node's memory flat, and the live stream loses nothing", async () => {
    const stream = await createStream("flood");
    const follower = new Follower(stream.stream_id);
    const publisher = await publish(stream);
    const produced = () => metric(`ingest_segments_produced_total{stream="${stream.stream_id}"`);
    await eventually("the first segments", 30_000, async () => ((await produced()) >= 3 ? true : undefined));
    const baseline = memoryPeaks();
    await sleep(2000);
    const before = await baseline.stop();

    const peaks = memoryPeaks();
    const abuse = rtmpAbuse("127.0.0.1", node.rtmpPort);
    const written: Record<string, number> = {};
    // Three attackers at a time (the publisher holds one of the per-IP connections); each wave waits for the last.
    const wave = async (name: string, start: (socket: Socket, id: string) => void, count = 3) => {
      const from = abuse.sockets.length;
      for (let n = 1; n <= count; n++) abuse.open(`${name}-${n}`, (socket) => start(socket, `${name}-${n}`));
      await eventually(
        `the node to close every ${name} connection`,
        15_000,
        async () => (abuse.sockets.slice(from).every((s) => s.closedAt !== null) ? true : undefined),
        50,
      );
      await sleep(100);
    };
    const pumpAs = (source: () => Iterator<Buffer>) => (socket: Socket, id: string) => void pump(socket, source(), FILL_BYTES).then((n) => (written[id] = n));
    try {
      // Exactly the bytes: 317 chunk streams, each announcing a 0xFFFFFF-byte message (~45 KB a connection).
      await wave("flood", (socket) => void socket.write(Buffer.concat([handshake(), announceFlood()])));
      // The same, filling the announced buffers with their bodies at line rate.
      await wave("fill", pumpAs(fillFlood));
      // Under the per-message cap: 1 MiB messages on 8 chunk streams, bodies sent, never publishing.
      await wave("under-caps", pumpAs(underTheCaps));
      // Small messages on ever new chunk stream ids.
      await wave(
        "ids",
        (socket) => void socket.write(Buffer.concat([handshake(), ...ATTACK_CHUNK_STREAMS.map((id) => Buffer.concat([announce(id, 100), Buffer.alloc(100)]))])),
        1,
      );
    } finally {
      abuse.closeAll();
    }
    await sleep(500);
    const peak = await peaks.stop();
    const held = Object.fromEntries(abuse.sockets.map((s) => [s.name, (s.closedAt ?? Date.now()) - s.openedAt]));
    const refused = {
      tooLarge: await metric('ingest_rtmp_refused_total{reason="message-too-large"}'),
      budget: await metric('ingest_rtmp_refused_total{reason="preauth-budget"}'),
      ids: await metric('ingest_rtmp_refused_total{reason="too-many-chunk-streams"}'),
    };
    console.log(
      `[rtmp-limits] memory before vm=${Math.round(before.vm / MiB)} MiB rss=${Math.round(before.rss / MiB)} MiB; peak during the attacks vm=${Math.round(peak.vm / MiB)} MiB rss=${Math.round(peak.rss / MiB)} MiB; ` +
        `held ms ${JSON.stringify(held)}; bytes written ${JSON.stringify(written)}; refused ${JSON.stringify(refused)}`,
    );
    expect(peak.vm - before.vm, "growth of the node's virtual size").toBeLessThan(256 * MiB);
    expect(peak.rss - before.rss, "growth of the node's resident set").toBeLessThan(96 * MiB);
    for (const [name, ms] of Object.entries(held)) expect(ms, `${name} held open`).toBeLessThan(3000);
    // What an attacker got in before the close is what the sockets' buffers hold, not what it meant to send.
    for (const [name, bytes] of Object.entries(written)) expect(bytes, `${name} bytes written`).toBeLessThan(16 * MiB);
    expect(refused).toEqual({ tooLarge: 6, budget: 3, ids: 1 });
    expect(await metric("ingest_rtmp_connections ")).toBe(1);
    expect((await (await fetch(`${node.opsUrl}/healthz`)).json()) as { active_streams: number }).toMatchObject({ active_streams: 1 });

    await stopPublisher(stream, publisher);
    const total = await produced();
    await eventually("the edge to list every segment the node cut", 15_000, async () => (follower.count() >= total ? true : undefined), 200);
    await follower.stop();
    const failed = [...follower.status].filter(([, status]) => status !== 200);
    console.log(`[rtmp-limits] produced=${total} listed=${follower.count()} fetched=${follower.status.size} failed=${failed.length}`);
    expect(total).toBeGreaterThan(3);
    expect(follower.count(), "segments listed vs produced (lost)").toBe(total);
    expect(failed, "listed segments that did not answer 200").toEqual([]);
  });
});

/** Connects from `localAddress` (any 127.x address reaches the node on loopback); resolves once connected. */
async function idle(localAddress: string, sockets: Socket[]): Promise<{ socket: Socket; closed: Promise<number> }> {
  const socket = connect({ host: "127.0.0.1", port: node.rtmpPort, localAddress });
  sockets.push(socket);
  socket.on("error", () => {});
  const opened = Date.now();
  const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now() - opened)));
  await new Promise<void>((resolve) => {
    socket.once("connect", resolve);
    socket.once("close", resolve);
  });
  return { socket, closed };
}

describe("connection caps and MAX_PUBLISHES", () => {
  it("refuse past the cap with a clear log line, and leave the live publish alone", async () => {
    const live = await createStream("capped-live");
    const publisher = await publish(live);

    // MAX_PUBLISHES=1: a second stream's publisher is disconnected and says so.
    const second = await createStream("capped-second");
    const mark = node.lines.length;
    const refusedPublisher = system.publish(`${node.rtmpUrl}/${second.stream_key}`);
    const line = await eventually("the MAX_PUBLISHES refusal", 15_000, async () =>
      node.lines.slice(mark).find((l) => l.includes("publish refused: this node is at its publish limit (MAX_PUBLISHES=1)")),
    );
    const code = await Promise.race([refusedPublisher.exited, sleep(15_000).then(() => "still running")]);
    console.log(`[rtmp-limits] MAX_PUBLISHES: ${line.slice(25)}; refused publisher exited with ${code}`);
    expect(code).not.toBe("still running");
    expect(await metric('ingest_rtmp_refused_total{reason="max-publishes"}')).toBe(1);

    // Per IP: the publisher holds one of 127.0.0.1's five connections; four more fit, the fifth is closed at once.
    const sockets: Socket[] = [];
    try {
      const fit = await Promise.all([1, 2, 3, 4].map(() => idle("127.0.0.1", sockets)));
      const over = await idle("127.0.0.1", sockets);
      expect(
        await Promise.race([over.closed, sleep(3000).then(() => -1)]),
        "ms until the node closed the connection over the per-IP cap",
      ).toBeGreaterThanOrEqual(0);
      expect(node.lines.some((l) => l.includes("refusing an RTMP connection: too many open (RTMP_MAX_CONNECTIONS_PER_IP=5)"))).toBe(true);
      // In total: three more from another address reach eight; the ninth is closed.
      const others = await Promise.all([1, 2, 3].map(() => idle("127.0.0.2", sockets)));
      const ninth = await idle("127.0.0.3", sockets);
      expect(await Promise.race([ninth.closed, sleep(3000).then(() => -1)]), "ms until the node closed the ninth connection").toBeGreaterThanOrEqual(0);
      expect(node.lines.some((l) => l.includes("refusing an RTMP connection: too many open (RTMP_MAX_CONNECTIONS=8)"))).toBe(true);
      for (const c of [...fit, ...others]) expect(c.socket.destroyed, "a connection within the caps").toBe(false);
      expect(await metric("ingest_rtmp_connections ")).toBe(TOTAL);
    } finally {
      for (const s of sockets) s.destroy();
    }
    // The slots come back; the live publish was never disturbed.
    await eventually("the idle connections to be released", 5000, async () => ((await metric("ingest_rtmp_connections ")) === 1 ? true : undefined));
    const status = await system.api<{ health: { ingest_connected: boolean } }>("GET", `/streams/${live.stream_id}/status`);
    expect(status.body.health.ingest_connected).toBe(true);
    await stopPublisher(live, publisher);
  });
});

/** A TCP proxy to the node that rewrites the `width` number of the first onMetaData the client sends to -1. */
async function widthRewritingProxy(): Promise<{ server: Server; port: number }> {
  const pattern = Buffer.from([0x00, 0x05, ...Buffer.from("width"), 0x00]);
  const server = createServer((client) => {
    const upstream = connect({ host: "127.0.0.1", port: node.rtmpPort });
    let rewritten = false;
    client.on("data", (data: Buffer) => {
      const at = rewritten ? -1 : data.indexOf(pattern);
      if (at >= 0 && at + pattern.length + 8 <= data.length) {
        data.writeDoubleBE(-1, at + pattern.length);
        rewritten = true;
      }
      upstream.write(data);
    });
    upstream.pipe(client);
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      a.on("error", () => b.destroy());
      a.on("close", () => b.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as { port: number }).port };
}

describe("onMetaData with width -1", () => {
  it("ends the publish (the publisher sees the disconnect) and leaves nothing behind", async () => {
    const stream = await createStream("width-minus-one");
    const proxy = await widthRewritingProxy();
    try {
      const before = nodeMemory();
      const publisher = await publish(stream, `rtmp://127.0.0.1:${proxy.port}/live/${stream.stream_key}`);
      const code = await Promise.race([publisher.exited, sleep(30_000).then(() => "still running")]);
      // The pipeline ends the publish itself; the node disconnects it on any failure the pipeline lets through.
      const failure = node.lines.find(
        (l) => l.includes("pipeline failed") && (l.includes(stream.stream_id) || l.includes(`stream/${stream.stream_id.slice(0, 8)}`)),
      );
      console.log(`[rtmp-limits] width -1: publisher exited with ${code}; node: ${failure?.slice(25)}`);
      expect(code, "the publisher saw the disconnect").not.toBe("still running");
      expect(failure).toMatch(/source size -1x\d+ is not usable/);
      await eventually("the node to drop the stream", 10_000, async () =>
        (await metric("ingest_active_streams ")) === 0 && (await metric("ingest_rtmp_connections ")) === 0 ? true : undefined,
      );
      const after = nodeMemory();
      expect(after.rss - before.rss, "resident set after the failed publish").toBeLessThan(64 * MiB);
    } finally {
      proxy.server.close();
    }
  });
});
