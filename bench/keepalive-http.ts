// A keep-alive HTTP/1.1 GET client over one raw TCP socket, for load generators that send tens of thousands of requests:
// one request at a time per connection, as a player's connection does, with only the status line, Content-Length or
// chunked framing parsed (Node's http client costs ~50 µs of this process's CPU per answer; see raw-http.ts).
import { connect, type Socket } from "node:net";
import { dechunk } from "./http-chunked.ts";
import type { RawAnswer } from "./raw-http.ts";

/**
 * workerd's HTTP server (KJ's HttpServer, pipelineTimeout) closes a keep-alive connection that has carried no request
 * for 5 s; a request written while it does is reset (RST: the server closed with that request unread) or sees the
 * connection close before an answer. A connection idle this long is therefore closed and opened afresh before a request,
 * as browsers do with their own idle timeout below the server's.
 */
export const IDLE_REOPEN_MS = 4000;

/** One connection; `get` queues behind the request in flight. */
export class KeepAliveConnection {
  readonly #host: string;
  readonly #port: number;
  #socket: Socket | null = null;
  #buffer = "";
  #pending: { resolve: (answer: RawAnswer) => void; reject: (err: Error) => void; timer: ReturnType<typeof setTimeout> } | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  /** When the last answer arrived (performance.now()). */
  #idleSince = 0;
  /** Whether any byte of the answer in flight arrived. */
  #answering = false;
  readonly #idleReopenMs: number;
  /** Requests sent once more on a fresh connection after the server closed the kept-alive one before answering. */
  staleRetries = 0;

  constructor(host: string, port: number, idleReopenMs = IDLE_REOPEN_MS) {
    this.#host = host;
    this.#port = port;
    this.#idleReopenMs = idleReopenMs;
  }

  /** GETs `path` with `headers` once the requests before it on this connection were answered. */
  get(path: string, headers: Record<string, string> = {}, timeoutMs = 20_000): Promise<RawAnswer> {
    const run = this.#queue.then(() => this.#send(path, headers, timeoutMs));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Closes the connection (a request in flight fails). */
  close(): void {
    const socket = this.#socket;
    this.#socket = null;
    socket?.destroy();
    this.#settle(new Error("closed by the client"));
  }

  /** Whether the next request would go on a connection that carried earlier ones (not a fresh one). */
  #reusable(): boolean {
    return this.#socket !== null && !this.#socket.destroyed && performance.now() - this.#idleSince < this.#idleReopenMs;
  }

  #open(): Socket {
    if (this.#socket && !this.#socket.destroyed) {
      if (performance.now() - this.#idleSince < this.#idleReopenMs) return this.#socket;
      // Past the client's idle timeout: the server may be closing it right now.
      this.#socket.destroy();
      this.#socket = null;
    }
    const socket = connect(this.#port, this.#host);
    socket.setNoDelay(true);
    socket.setEncoding("latin1");
    this.#buffer = "";
    socket.on("data", (chunk: string) => {
      this.#answering = true;
      this.#buffer += chunk;
      this.#parse();
    });
    // Only the current socket's end fails the request in flight: an old one closed by the client ends quietly.
    const fail = (err: Error) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#settle(err);
    };
    socket.on("error", fail);
    socket.on("close", () => fail(new Error("connection closed before an answer")));
    this.#socket = socket;
    return socket;
  }

  /**
   * One request. The client's idle clock starts when it has read an answer, the server's when it wrote it, so a client
   * that falls behind under load can reuse a connection the server is closing as idle: as browsers do, a GET whose reused
   * connection is reset or closed before any byte of its answer arrived is sent once more on a fresh connection
   * (`staleRetries` counts them). A fresh connection's failure is the request's.
   */
  async #send(path: string, headers: Record<string, string>, timeoutMs: number): Promise<RawAnswer> {
    const reused = this.#reusable();
    try {
      return await this.#attempt(path, headers, timeoutMs);
    } catch (err) {
      const stale = /ECONNRESET|EPIPE|connection closed before an answer/.test((err as Error).message);
      if (!reused || !stale || this.#answering) throw err;
      this.staleRetries += 1;
      return this.#attempt(path, headers, timeoutMs);
    }
  }

  #attempt(path: string, headers: Record<string, string>, timeoutMs: number): Promise<RawAnswer> {
    const socket = this.#open();
    this.#answering = false;
    return new Promise<RawAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#settle(new Error("timeout"));
        this.close();
      }, timeoutMs);
      this.#pending = { resolve, reject, timer };
      const extra = Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join("");
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${this.#host}:${this.#port}\r\n${extra}\r\n`);
    });
  }

  #settle(error: Error | null, answer?: RawAnswer): void {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = null;
    clearTimeout(pending.timer);
    this.#idleSince = performance.now();
    if (error) pending.reject(error);
    else pending.resolve(answer!);
  }

  #parse(): void {
    const headEnd = this.#buffer.indexOf("\r\n\r\n");
    if (headEnd < 0) return;
    const head = this.#buffer.slice(0, headEnd);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? Number.NaN);
    if (Number.isNaN(status)) {
      this.#settle(new Error(`malformed answer: ${head.slice(0, 80)}`));
      return;
    }
    const rest = this.#buffer.slice(headEnd + 4);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    let body: string | null = null;
    let consumed = 0;
    if (length) {
      const n = Number(length[1]);
      if (rest.length >= n) {
        body = rest.slice(0, n);
        consumed = headEnd + 4 + n;
      }
    } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      const end = rest.indexOf("\r\n0\r\n\r\n");
      const empty = rest.startsWith("0\r\n\r\n");
      if (empty) {
        body = "";
        consumed = headEnd + 4 + 5;
      } else if (end >= 0) {
        body = dechunk(rest.slice(0, end + 7));
        consumed = headEnd + 4 + end + 7;
      }
    } else {
      body = "";
      consumed = headEnd + 4;
    }
    if (body === null) return;
    this.#buffer = this.#buffer.slice(consumed);
    this.#settle(null, { status, body });
  }
}

/**
 * A bounded pool of keep-alive connections shared by many simulated viewers, as a crowd behind one edge shares the
 * edge's connections: a request takes an idle connection (or opens one while fewer than `maxSockets` are open) for its
 * whole exchange, held requests included, and gives it back; past the bound it waits for one. So the load client opens
 * at most `maxSockets` sockets however many viewers it plays, and a viewer that pauses closes nothing.
 */
export class KeepAlivePool {
  readonly #host: string;
  readonly #port: number;
  readonly #maxSockets: number;
  readonly #all: KeepAliveConnection[] = [];
  readonly #idle: KeepAliveConnection[] = [];
  readonly #waiting: Array<(connection: KeepAliveConnection) => void> = [];

  constructor(host: string, port: number, maxSockets: number) {
    this.#host = host;
    this.#port = port;
    this.#maxSockets = maxSockets;
  }

  /** Connections opened so far (at most `maxSockets`). */
  get size(): number {
    return this.#all.length;
  }

  /** Most requests that waited for a connection at once (0: the bound was never reached). */
  peakWaiting = 0;

  /** Requests sent once more after the server closed their reused connection before answering (KeepAliveConnection). */
  get staleRetries(): number {
    return this.#all.reduce((sum, connection) => sum + connection.staleRetries, 0);
  }

  /** GETs `path` on a connection of the pool. */
  async get(path: string, headers: Record<string, string> = {}, timeoutMs = 20_000): Promise<RawAnswer> {
    const connection = await this.#take();
    try {
      return await connection.get(path, headers, timeoutMs);
    } finally {
      const next = this.#waiting.shift();
      if (next) next(connection);
      else this.#idle.push(connection);
    }
  }

  /** Closes every connection. */
  close(): void {
    for (const connection of this.#all) connection.close();
  }

  #take(): Promise<KeepAliveConnection> {
    const idle = this.#idle.pop();
    if (idle) return Promise.resolve(idle);
    if (this.#all.length < this.#maxSockets) {
      const connection = new KeepAliveConnection(this.#host, this.#port);
      this.#all.push(connection);
      return Promise.resolve(connection);
    }
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.peakWaiting = Math.max(this.peakWaiting, this.#waiting.length);
    });
  }
}
