import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Logger, LogFields } from "../../../../ingest-node/src/log.ts";
import type { PublishSession } from "../../../../ingest-node/src/rtmp/publish-session.ts";
import { RtmpServer, type RtmpServerOptions } from "../../../../ingest-node/src/rtmp/rtmp-server.ts";
import { nms } from "../../../../ingest-node/src/rtmp/nms.ts";
import { announce, announceFlood, handshake, message, publishCommands } from "./rtmp-bytes.ts";

/** A logger that keeps its lines as `LEVEL message`. */
function memoryLog(lines: string[]): Logger {
  const at = (level: string) => (message: string, fields?: LogFields) => void lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  const log: Logger = { debug: at("DEBUG"), info: at("INFO"), warn: at("WARN"), error: at("ERROR"), child: () => log };
  return log;
}

const LIMITS = {
  guard: { maxMessageBytes: 8 * 1024 * 1024, maxChunkStreams: 8, preauthBytes: 4 * 1024 * 1024 },
  connections: { maxConnections: 6, maxConnectionsPerIp: 4 },
  maxPublishes: 1,
};

let server: RtmpServer | null = null;
const clients: Socket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await server?.close();
  server = null;
});

async function start(options: Partial<RtmpServerOptions> = {}) {
  const lines: string[] = [];
  server = new RtmpServer({ host: "127.0.0.1", port: 0, publisherTimeoutMs: 5000, log: memoryLog(lines), ...LIMITS, ...options });
  const port = await server.listen();
  const publishes: PublishSession[] = [];
  server.on("publish", (session) => publishes.push(session));
  return { server, port, lines, publishes };
}

/** Connects; resolves with the socket and a promise of its close. */
async function client(port: number, host = "127.0.0.1"): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = connect({ host, port });
  clients.push(socket);
  socket.on("error", () => {});
  socket.on("data", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("close", () => reject(new Error("closed before connecting")));
  });
  return { socket, closed };
}

const within = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms))]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("RtmpServer", () => {
  it("treats a TCP health check (connect, then close) as routine: nothing at warn or error", async () => {
    const { port, lines, server } = await start();
    const { socket, closed } = await client(port);
    socket.end();
    await closed;
    // A checker that resets instead of closing (SO_LINGER 0) is just as routine.
    const reset = await client(port);
    reset.socket.resetAndDestroy();
    await reset.closed;
    await sleep(50);
    expect(lines.filter((l) => /^(WARN|ERROR)/.test(l))).toEqual([]);
    expect(lines.some((l) => l.startsWith("DEBUG a connection closed without sending anything"))).toBe(true);
    expect(server.stats().connections).toBe(0);
  });

  it("closes a connection that announces a huge message or floods chunk streams, before node-media-server allocates", async () => {
    const { port, lines, server } = await start();
    const big = await client(port);
    big.socket.write(Buffer.concat([handshake(), announce(4, 0xffffff), Buffer.alloc(128)]));
    await within(big.closed, 2000, "the oversized announcement to be closed");
    const flood = await client(port);
    flood.socket.write(Buffer.concat([handshake(), announceFlood()]));
    await within(flood.closed, 2000, "the chunk stream flood to be closed");
    expect(server.stats().refused).toMatchObject({ "message-too-large": 2 });
    expect(lines.some((l) => l.startsWith("WARN dropping an RTMP connection: a message of 16777215 bytes"))).toBe(true);
  });

  it("caps connections per IP and in total, with a clear log line", async () => {
    const { port, lines, server } = await start();
    const first = await Promise.all([1, 2, 3, 4].map(() => client(port)));
    const fifth = await client(port);
    await within(fifth.closed, 2000, "the fifth connection from one IP to be closed");
    expect(lines.some((l) => l.includes("WARN refusing an RTMP connection: too many open (RTMP_MAX_CONNECTIONS_PER_IP=4)"))).toBe(true);
    // Another loopback address is another client: two more fit the total of 6, the seventh does not.
    const other = await Promise.all([1, 2].map(() => client(port, "127.0.0.2").catch(() => null)));
    if (other.every((c) => c !== null)) {
      const seventh = await client(port, "127.0.0.3");
      await within(seventh.closed, 2000, "the seventh connection to be closed");
      expect(server.stats().refused["max-connections"]).toBe(1);
    }
    // Slots come back when connections close.
    for (const c of first) c.socket.destroy();
    await Promise.all(first.map((c) => c.closed));
    await sleep(50);
    const again = await client(port);
    await sleep(200);
    expect(again.socket.destroyed).toBe(false);
    expect(server.stats().refused["max-connections-per-ip"]).toBe(1);
  });

  it("refuses a publish past MAX_PUBLISHES and lifts the pre-authorization budget once authorized", async () => {
    const { port, lines, publishes, server } = await start({ guard: { ...LIMITS.guard, preauthBytes: 64 * 1024 } });
    const one = await client(port);
    one.socket.write(Buffer.concat([handshake(), publishCommands({ host: "127.0.0.1", port }, "live", "key-one")]));
    await within(
      (async () => {
        while (publishes.length < 1) await sleep(20);
      })(),
      2000,
      "the first publish",
    );
    const two = await client(port);
    two.socket.write(Buffer.concat([handshake(), publishCommands({ host: "127.0.0.1", port }, "live", "key-two")]));
    await within(two.closed, 2000, "the second publish to be refused");
    expect(publishes).toHaveLength(1);
    expect(lines.some((l) => l.includes("WARN publish refused: this node is at its publish limit (MAX_PUBLISHES=1)"))).toBe(true);
    expect(server.stats().refused["max-publishes"]).toBe(1);

    // Authorized: 200 KB of media (past the 64 KB budget) is fine.
    publishes[0]!.authorize({ latencyMode: "low" });
    const video = Buffer.concat([announce(6, 4000), Buffer.alloc(4000, 0x17)]);
    for (let i = 0; i < 50; i++) one.socket.write(video);
    await sleep(300);
    expect(one.socket.destroyed).toBe(false);
    expect(publishes[0]!.active).toBe(true);
    // Once it left, a new publish fits again; not authorized, it is closed past the budget.
    one.socket.destroy();
    await one.closed;
    await within(
      (async () => {
        while (publishes[0]!.active) await sleep(20);
      })(),
      2000,
      "the first publish to end",
    );
    const three = await client(port);
    three.socket.write(Buffer.concat([handshake(), publishCommands({ host: "127.0.0.1", port }, "live", "key-three")]));
    await within(
      (async () => {
        while (publishes.length < 2) await sleep(20);
      })(),
      2000,
      "the third publish",
    );
    for (let i = 0; i < 50 && !three.socket.destroyed; i++) three.socket.write(video);
    await within(three.closed, 2000, "the unauthorized flood to be closed");
    expect(server.stats().refused["preauth-budget"]).toBe(1);
  });

  it("reads an authorized publisher in batches (RTMP_READ_INTERVAL_MS), except an interactive stream's", async () => {
    const { port, publishes, server } = await start({ maxPublishes: 2, readIntervalMs: 50 });
    const publish = async (key: string) => {
      const c = await client(port);
      c.socket.write(Buffer.concat([handshake(), publishCommands({ host: "127.0.0.1", port }, "live", key)]));
      const before = publishes.length;
      await within(
        (async () => {
          while (publishes.length === before) await sleep(20);
        })(),
        2000,
        `the publish of ${key}`,
      );
      return { socket: c.socket, session: publishes[before]! };
    };
    const live = await publish("interactive-key");
    live.session.authorize({ latencyMode: "interactive" });
    expect(server.stats().batchedReads).toBe(0);
    const low = await publish("low-key");
    low.session.authorize({ latencyMode: "low" });
    expect(server.stats().batchedReads).toBe(1);
    // The batched publisher's frames all reach its feed.
    const tags: number[] = [];
    low.session.attachFeed((_tag, info) => info?.kind === "video" && tags.push(info.payloadBytes));
    const frame = message(6, 9, Buffer.concat([Buffer.from([0x17, 0x01, 0, 0, 0]), Buffer.alloc(500, 7)]), 1);
    for (let i = 0; i < 20; i++) {
      low.socket.write(frame);
      await sleep(5);
    }
    await within(
      (async () => {
        while (tags.length < 20) await sleep(20);
      })(),
      2000,
      "every frame of the batched publisher",
    );
    low.socket.destroy();
    await within(
      (async () => {
        while (server.stats().batchedReads > 0) await sleep(20);
      })(),
      2000,
      "the batched connection to be let go at its close",
    );
  });

  it("keeps node-media-server's GOP cache empty once the feed is attached (it would hold 4096 messages twice)", async () => {
    const { port, publishes } = await start();
    const one = await client(port);
    one.socket.write(Buffer.concat([handshake(), publishCommands({ host: "127.0.0.1", port }, "live", "gop-key")]));
    await within(
      (async () => {
        while (publishes.length < 1) await sleep(20);
      })(),
      2000,
      "the publish",
    );
    const frame = (key: boolean) => message(6, 9, Buffer.concat([Buffer.from([key ? 0x17 : 0x27, 0x01, 0, 0, 0]), Buffer.alloc(1000, 7)]), 1);
    one.socket.write(Buffer.concat([frame(true), frame(false), frame(false)]));
    const broadcast = nms.Context.broadcasts.get("/live/gop-key")!;
    await within(
      (async () => {
        while ((broadcast.flvGopCache?.size ?? 0) < 3) await sleep(20);
      })(),
      2000,
      "the GOP cache to fill before the feed",
    );
    // The node refuses RTMP play, so node-media-server's RTMP chunk copy of each frame is not made.
    expect([...(broadcast.rtmpGopCache ?? [])].map((m) => m.byteLength)).toEqual([0]);
    // ...while the FLV tag the feed reads is: 11 header bytes, 1,005 of payload, 4 of previous tag size.
    expect([...(broadcast.flvGopCache ?? [])].map((m) => m.byteLength)).toEqual([1020, 1020, 1020]);
    const session = publishes[0]!;
    session.authorize({ latencyMode: "low" });
    const tags: number[] = [];
    session.attachFeed((_tag, info) => info?.kind === "video" && tags.push(info.payloadBytes));
    expect(tags, "the feed got the cached GOP").toHaveLength(3);
    for (let i = 0; i < 20; i++) one.socket.write(Buffer.concat([frame(i % 5 === 0), frame(false)]));
    await within(
      (async () => {
        while (tags.length < 43) await sleep(20);
      })(),
      2000,
      "the feed to get every frame",
    ).catch((e) => {
      throw new Error(`${e.message}: ${tags.length}`);
    });
    expect(broadcast.flvGopCache?.size ?? 0).toBe(0);
    expect(broadcast.rtmpGopCache?.size ?? 0).toBe(0);
    expect(one.socket.destroyed).toBe(false);
  });
});
