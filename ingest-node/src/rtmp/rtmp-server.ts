// The RTMP listener: node-media-server's RTMP sessions on our own TCP server, hardened and with typed events.
import { EventEmitter } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { type Logger, redact } from "../log.ts";
import { nms, type NmsSession } from "./nms.ts";
import { PublishSession } from "./publish-session.ts";

/** Options of the RTMP listener. */
export interface RtmpServerOptions {
  host: string;
  port: number;
  /** A publisher silent this long is disconnected. */
  publisherTimeoutMs: number;
  /** A connection that has not started publishing or playing within this time is dropped (slowloris). */
  handshakeTimeoutMs?: number;
  log: Logger;
}

/** Events of the RTMP listener. */
export interface RtmpServerEvents {
  /** A publisher asked to publish on app `live`; the listener must accept (attach a feed) or close it. */
  publish: [session: PublishSession];
  /** A publish refused by the listener itself (duplicate on this node, unknown application, draining). */
  refused: [reason: string];
}

/** Accepts RTMP publishers on `rtmp://host:port/live/<stream key>`. */
export class RtmpServer extends EventEmitter<RtmpServerEvents> {
  private readonly options: RtmpServerOptions;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private accepting = true;

  constructor(options: RtmpServerOptions) {
    super();
    this.options = options;
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
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.setNoDelay(true);
    // Every RTMP connection opens with C0 = 0x03 (the protocol version): anything else is not RTMP, drop it at once.
    socket.once("data", (first: Buffer) => {
      if (first[0] !== 0x03) {
        this.options.log.info("dropping a connection that does not speak RTMP", { from: socket.remoteAddress });
        socket.destroy();
      }
    });
    const session = new nms.RtmpSession(socket);
    // A parser exception on garbage bytes must end this connection, never the process.
    const onData = session.onData;
    session.onData = (data: Buffer) => {
      try {
        onData(data);
      } catch (err) {
        this.options.log.warn("dropping a connection that sent invalid RTMP data", { from: socket.remoteAddress, error: (err as Error).message });
        socket.destroy();
      }
    };
    const handshakeTimer = setTimeout(() => {
      if (session.isPublisher !== true) {
        this.options.log.info("dropping a connection that did not start publishing in time", { from: socket.remoteAddress });
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
      const session = new PublishSession(nmsSession, this.options.publisherTimeoutMs);
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
      this.emit("publish", session);
    });
  }
}
