// The node's SRT listener, main-thread side: one UDP port for every SRT caller; keys checked before the handshake is
// answered; each accepted caller becomes an SrtPublish handed to the node like any other publisher.
import { Worker } from "node:worker_threads";
import type { PublishResponse } from "../../../protocol/ingest.ts";
import type { Logger } from "../log.ts";
import { SRT_REJECT } from "./libsrt.ts";
import { AUTH_SLOT, encodeVerdict, type ListenerSettings, type MainToWorker, type WorkerToMain } from "./srt-messages.ts";
import { SrtPublish } from "./srt-publish.ts";

/** What the node answers about a caller's key: a grant (the lease is taken), or why not. */
export type SrtAuthorization = { ok: true; grant: PublishResponse } | { ok: false; reason: "forbidden" | "conflict" | "unavailable" };

/** Options of an SRT listener. */
export interface SrtServerOptions {
  host: string;
  port: number;
  latencyMs: number;
  passphrase: string | null;
  maxConnections: number;
  /** Longest a handshake waits for the edge to check the key (then rejected as unavailable). */
  authTimeoutMs: number;
  /** A caller silent this long is gone (PUBLISHER_TIMEOUT_MS). */
  silenceTimeoutMs: number;
  ffmpegBinary: string;
  x264Preset: string;
  /** Bytes queued toward one caller's demuxer (PIPELINE_MAX_BUFFER_MB). */
  maxBufferBytes: number;
  /** Asks the edge whether a key may publish now. */
  authorize: (streamKey: string, from: string) => Promise<SrtAuthorization>;
  /** Runs an authorized caller's publish (the node's pipeline), until it ends. */
  publish: (source: SrtPublish, grant: PublishResponse) => void;
  log: Logger;
}

/** A caller whose handshake libsrt did not complete within this long after its key was accepted is dropped. */
const HANDSHAKE_TIMEOUT_MS = 5_000;

/** SRT rejection reason for each refusal of the edge. */
const REJECTION = { forbidden: SRT_REJECT.FORBIDDEN, conflict: SRT_REJECT.CONFLICT, unavailable: SRT_REJECT.UNAVAILABLE } as const;

/** The SRT listener: libsrt runs on a worker thread (srt-worker.ts); this side checks keys and feeds pipelines. */
export class SrtServer {
  private readonly options: SrtServerOptions;
  private worker: Worker | null = null;
  private readonly auth = new Int32Array(new SharedArrayBuffer(4));
  /** Callers by SRT socket id, from the key check on. */
  private readonly sources = new Map<number, SrtPublish>();
  private readonly refused: Record<string, number> = {};
  private stopped: Promise<void> | null = null;

  constructor(options: SrtServerOptions) {
    this.options = options;
  }

  /** Binds the UDP port and starts accepting; resolves with the port. */
  async listen(): Promise<number> {
    const { options } = this;
    const settings: ListenerSettings = {
      host: options.host,
      port: options.port,
      latencyMs: options.latencyMs,
      passphrase: options.passphrase,
      maxConnections: options.maxConnections,
      backlog: Math.min(options.maxConnections, 64),
      authTimeoutMs: options.authTimeoutMs,
      peerIdleTimeoutMs: Math.max(options.silenceTimeoutMs, 1000),
      authBuffer: this.auth.buffer as SharedArrayBuffer,
    };
    const worker = new Worker(new URL("./srt-worker.ts", import.meta.url), { workerData: settings });
    this.worker = worker;
    await new Promise<void>((resolve, reject) => {
      worker.once("error", reject);
      worker.on("message", (message: WorkerToMain) => {
        if (message.type === "listening") {
          worker.off("error", reject);
          worker.on("error", (err) => options.log.error("SRT listener failed", { error: err.message }));
          resolve();
        } else this.onMessage(message);
      });
    });
    return options.port;
  }

  /** Refuses new callers from now on (drain); live ones continue. */
  stopAccepting(): void {
    this.send({ type: "pause" });
  }

  /** SRT callers connected (or between key check and handshake), and callers refused by reason. */
  stats(): { connections: number; refused: Record<string, number> } {
    return { connections: this.sources.size, refused: { ...this.refused } };
  }

  /** Disconnects every caller and stops the listener's thread. */
  close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return Promise.resolve();
    this.stopped ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 2_000);
      worker.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      this.send({ type: "stop" });
    });
    return this.stopped;
  }

  private send(message: MainToWorker): void {
    this.worker?.postMessage(message);
  }

  private onMessage(message: WorkerToMain): void {
    switch (message.type) {
      case "authorize":
        void this.answer(message.request, message.socket, message.key, message.from);
        break;
      case "refused":
        this.count(message.reason);
        this.options.log.warn(`SRT caller refused: ${message.reason}`, { from: message.from });
        break;
      case "accepted": {
        // A caller whose publish already ended (it gave up on the key check, or the node stopped it) is closed.
        const source = this.sources.get(message.socket);
        if (source?.active) source.markConnected();
        else this.send({ type: "close", socket: message.socket });
        break;
      }
      case "data":
        this.sources.get(message.socket)?.push(Buffer.from(message.bytes));
        break;
      case "closed":
        this.sources.get(message.socket)?.end(message.reason);
        break;
      case "stopped":
        for (const source of this.sources.values()) source.end("node shutting down");
        break;
    }
  }

  /** Checks a caller's key with the edge and hands the verdict to the waiting handshake. */
  private async answer(request: number, socket: number, key: string, from: string): Promise<void> {
    const { options } = this;
    let verdict: SrtAuthorization;
    try {
      verdict = await options.authorize(key, from);
    } catch {
      verdict = { ok: false, reason: "unavailable" };
    }
    let source: SrtPublish | null = null;
    if (verdict.ok) {
      source = new SrtPublish(key, from, {
        ffmpegBinary: options.ffmpegBinary,
        x264Preset: options.x264Preset,
        silenceTimeoutMs: options.silenceTimeoutMs,
        handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
        maxBufferBytes: options.maxBufferBytes,
        disconnect: () => this.send({ type: "close", socket }),
        onDemuxError: (detail) => options.log.warn("SRT demuxer failed", { from, detail }),
      });
      this.sources.set(socket, source);
      const registered = source;
      void source.ended.then(() => {
        if (this.sources.get(socket) === registered) this.sources.delete(socket);
      });
    } else {
      this.count(`edge ${verdict.reason}`);
    }
    const answered = Atomics.compareExchange(this.auth, AUTH_SLOT, request, encodeVerdict(verdict.ok ? null : REJECTION[verdict.reason])) === request;
    Atomics.notify(this.auth, AUTH_SLOT);
    if (!verdict.ok) return;
    if (!answered) source!.close("the SRT handshake gave up waiting for the key check");
    // Once media flows (or the caller left: the publish then ends at once and the edge hears it, as for any
    // publisher that leaves; the grant holds the stream's lease until then).
    const grant = verdict.grant;
    void source!.mediaFlowing.then(() => options.publish(source!, grant));
  }

  private count(reason: string): void {
    this.refused[reason] = (this.refused[reason] ?? 0) + 1;
  }
}
