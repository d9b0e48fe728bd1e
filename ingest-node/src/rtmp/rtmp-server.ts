// The RTMP listener: node-media-server's RTMP sessions on our own TCP server, hardened and with typed events.
import { EventEmitter } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { type Logger, redact } from "../log.ts";
import { type ChunkGuardLimits, RtmpChunkGuard } from "./chunk-guard.ts";
import { type ConnectionCaps, ConnectionLimits } from "./connection-limits.ts";
import { nms, type NmsSession } from "./nms.ts";
import { PublishSession } from "./publish-session.ts";
import { ReadCoalescer } from "./read-coalescing.ts";
import { RefusalLog } from "./refusal-log.ts";

/** Options of the RTMP listener. */
export interface RtmpServerOptions {
  host: string;
  port: number;
  /** A publisher silent this long is disconnected. */
  publisherTimeoutMs: number;
  /** A connection that has not started publishing or playing within this time is dropped (slowloris). */
  handshakeTimeoutMs?: number;
  /** What one connection may send (see RtmpChunkGuard). */
  guard: ChunkGuardLimits;
  /** Connections open at once, in total and per client IP. */
  connections: ConnectionCaps;
  /** Publishes on this node at once (authorized or waiting for the edge); more are refused. */
  maxPublishes: number;
  /** Once authorized, a publisher's connection is read every this many ms rather than as bytes arrive (0: as they
   *  arrive); interactive streams always as they arrive (read-coalescing.ts). */
  readIntervalMs?: number;
  log: Logger;
}

/** Reasons a connection or publish was refused by the listener, with how many times each happened. */
export type RtmpRefusals = Record<string, number>;

/** Events of the RTMP listener. */
export interface RtmpServerEvents {
  /** A publisher asked to publish on app `live`; the listener must accept (attach a feed) or close it. */
  publish: [session: PublishSession];
  /** A publish refused by the listener itself (duplicate on this node, unknown application, draining, MAX_PUBLISHES). */
  refused: [reason: string];
}

/** Accepts RTMP publishers on `rtmp://host:port/live/<stream key>`. */
export class RtmpServer extends EventEmitter<RtmpServerEvents> {
  private readonly options: RtmpServerOptions;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly guards = new WeakMap<Socket, RtmpChunkGuard>();
  private readonly limits: ConnectionLimits;
  private readonly publishes = new Set<PublishSession>();
  private readonly refusals: RefusalLog;
  private readonly coalescer: ReadCoalescer;
  private accepting = true;

  constructor(options: RtmpServerOptions) {
    super();
    this.options = options;
    this.limits = new ConnectionLimits(options.connections);
    this.refusals = new RefusalLog(options.log);
    this.coalescer = new ReadCoalescer(options.readIntervalMs ?? 0);
    // node-media-server keeps its state in a module-wide context; we use only its RTMP session and broadcast
    // classes (no HTTP admin, store, relay or recorder), and silence its logger, which prints stream keys.
    nms.Context.config = { bind: options.host };
    nms.logger.log = (message: string, level = "info") => {
      if (level === "error" || level === "warn") options.log.debug(`node-media-server: ${redact(message)}`);
    };
    nms.Context.eventEmitter.removeAllListeners("postPublish");
    nms.Context.eventEmitter.on("postPublish", (session: NmsSession) => this.onPostPublish(session));
    // The node ingests only: viewers play from the edge, so RTMP play requests are cut off at once.
    nms.Context.eventEmitter.removeAllListeners("prePlay");
    nms.Context.eventEmitter.on("prePlay", (session: NmsSession) => {
      options.log.info("refusing an RTMP play request (watch from the edge instead)", { from: session.ip });
      setImmediate(() => session.socket?.destroy());
    });
    this.server = createServer((socket) => this.onConnection(socket));
  }

  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off("error", reject);
        const address = this.server.address();
        resolve(typeof address === "object" && address ? address.port : this.options.port);
      });
    });
  }

  /** Stops accepting new publishes (drain); connected publishers continue. */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Closes the listener and every connection. */
  async close(): Promise<void> {
    this.accepting = false;
    this.coalescer.close();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Connections open now and what the listener refused so far (for metrics). */
  stats(): { connections: number; publishes: number; batchedReads: number; refused: RtmpRefusals } {
    return { connections: this.limits.open, publishes: this.publishes.size, batchedReads: this.coalescer.connections, refused: this.refusals.counts() };
  }

  private onConnection(socket: Socket): void {
    const from = socket.remoteAddress ?? "unknown";
    socket.on("error", () => socket.destroy());
    const slot = this.limits.admit(from);
    if (!slot.ok) {
      const cap =
        slot.refusal === "max-connections"
          ? `RTMP_MAX_CONNECTIONS=${this.options.connections.maxConnections}`
          : `RTMP_MAX_CONNECTIONS_PER_IP=${this.options.connections.maxConnectionsPerIp}`;
      this.refusals.refuse(slot.refusal, `refusing an RTMP connection: too many open (${cap})`, { from });
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.once("close", () => {
      slot.release();
      this.sockets.delete(socket);
    });
    socket.setNoDelay(true);
    const guard = new RtmpChunkGuard(this.options.guard);
    this.guards.set(socket, guard);
    // A TCP health check (connect, close, no bytes) is routine: note it at debug, never as a warning.
    socket.once("close", () => {
      if (guard.bytesIn === 0) this.options.log.debug("a connection closed without sending anything (a TCP health check?)", { from });
    });
    const session = new nms.RtmpSession(socket);
    // Every byte passes the guard before node-media-server reads it: nms allocates from the headers it parses.
    const onData = session.onData;
    session.onData = (data: Buffer) => {
      if (socket.destroyed) return;
      const verdict = guard.push(data);
      if (!verdict.ok) {
        if (verdict.code === "not-rtmp") this.refusals.refuse(verdict.code, "dropping a connection that does not speak RTMP", { from }, "info");
        else this.refusals.refuse(verdict.code, `dropping an RTMP connection: ${verdict.detail}`, { from, limit: verdict.code });
        socket.destroy();
        return;
      }
      // A parser exception on garbage bytes must end this connection, never the process.
      try {
        onData(data);
      } catch (err) {
        this.refusals.refuse("invalid-rtmp", "dropping a connection that sent invalid RTMP data", { from, error: (err as Error).message });
        socket.destroy();
      }
    };
    const handshakeTimer = setTimeout(() => {
      if (session.isPublisher !== true) {
        this.refusals.refuse("handshake-timeout", "dropping a connection that did not start publishing in time", { from }, "info");
        socket.destroy();
      }
    }, this.options.handshakeTimeoutMs ?? 10_000);
    handshakeTimer.unref();
    socket.once("close", () => clearTimeout(handshakeTimer));
    session.run();
    nms.Context.sessions.set(session.id, session);
    socket.once("close", () => nms.Context.sessions.delete(session.id));
  }

  private onPostPublish(nmsSession: NmsSession): void {
    // node-media-server emits postPublish before it checks for an existing publisher; decide once it has.
    setImmediate(() => {
      const log = this.options.log;
      if (nmsSession.broadcast?.publisher !== nmsSession) {
        log.warn("publish refused: this stream key is already publishing on this node", { from: nmsSession.ip });
        nmsSession.socket?.destroy();
        this.emit("refused", "duplicate");
        return;
      }
      if (nmsSession.broadcast) {
        // No grace window inside node-media-server: reconnects are the edge's business (same broadcast, new epoch).
        nmsSession.broadcast.publishGraceMs = 0;
      }
      const socket = nmsSession.socket;
      const guard = socket ? this.guards.get(socket) : undefined;
      const session = new PublishSession(nmsSession, this.options.publisherTimeoutMs, (authorization) => {
        guard?.authorize();
        if (socket && authorization.latencyMode !== "interactive") this.coalescer.add(socket);
      });
      if (nmsSession.streamApp !== "live") {
        log.warn("publish refused: unknown application (use rtmp://host/live)", { from: nmsSession.ip, app: nmsSession.streamApp });
        session.close("unknown application");
        this.emit("refused", "unknown application");
        return;
      }
      if (!this.accepting) {
        log.warn("publish refused: node is draining", { from: nmsSession.ip });
        session.close("draining");
        this.emit("refused", "draining");
        return;
      }
      if (this.publishes.size >= this.options.maxPublishes) {
        this.refusals.refuse("max-publishes", `publish refused: this node is at its publish limit (MAX_PUBLISHES=${this.options.maxPublishes})`, {
          from: nmsSession.ip,
        });
        session.close("node at MAX_PUBLISHES");
        this.emit("refused", "max publishes");
        return;
      }
      this.publishes.add(session);
      void session.ended.then(() => this.publishes.delete(session));
      this.emit("publish", session);
    });
  }
}
