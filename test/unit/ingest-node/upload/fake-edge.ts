// A fake of the edge's ingest API on node:http: stores PUT bodies by path, and answers what a test tells it to.
import { createServer } from "node:http";
import type { IncomingHttpHeaders, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What the fake edge does with one request. */
export type EdgeAction =
  /** Store the body under the path and answer 200 (after `delayMs`, if given). */
  | { kind: "store"; delayMs?: number }
  /** Answer a JSON body (for the POST endpoints). */
  | { kind: "json"; status: number; body: unknown }
  /** Answer an error status with a problem+json body. */
  | { kind: "status"; status: number; detail?: string; retryAfter?: string }
  /** Never answer (optionally storing the body first, as if the answer were lost on the way back). */
  | { kind: "hang"; store?: boolean }
  /** Destroy the connection without answering. */
  | { kind: "reset" };

/** A request as the fake edge received it. */
export interface RecordedRequest {
  index: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  action: EdgeAction["kind"];
}

/** One line of the fake edge's log: a request arrived, or a 2xx answer was sent for it. */
export interface EdgeEvent {
  type: "recv" | "ack";
  method: string;
  path: string;
}

/** FakeEdge listens on 127.0.0.1 and records everything; stop() and start(port) simulate an outage. */
export class FakeEdge {
  /** Stored bodies by path (the last one written). */
  readonly objects = new Map<string, Buffer>();
  readonly requests: RecordedRequest[] = [];
  readonly events: EdgeEvent[] = [];
  /** Paths re-PUT with different bytes: an idempotency violation. */
  readonly conflicts: string[] = [];
  /** Decides the answer to each request; the default stores and answers 200. */
  respond: (request: RecordedRequest) => EdgeAction = () => ({ kind: "store" });
  port = 0;
  /** Requests being handled now, and the most at once. */
  inFlight = 0;
  maxInFlight = 0;
  private server: Server | null = null;

  /** The base URL the uploader is given. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens on `port` (0: any free port, then kept for restarts). */
  async start(port = this.port): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => this.handle(req.method ?? "GET", req.url ?? "/", req.headers, Buffer.concat(chunks), res));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Stops listening and cuts every open connection: new connections are refused until start(). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** Requests received for a path. */
  requestsFor(path: string): RecordedRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  /** Paths acknowledged with a 2xx, in order. */
  ackedPaths(): string[] {
    return this.events.filter((event) => event.type === "ack").map((event) => event.path);
  }

  private handle(method: string, path: string, headers: IncomingHttpHeaders, body: Buffer, res: ServerResponse): void {
    const request: RecordedRequest = { index: this.requests.length, method, path, headers, body, action: "store" };
    this.events.push({ type: "recv", method, path });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.on("close", () => this.inFlight--);
    const action = this.respond(request);
    request.action = action.kind;
    this.requests.push(request);
    switch (action.kind) {
      case "store":
        if (action.delayMs) {
          setTimeout(() => this.handleStore(method, path, body, res), action.delayMs);
        } else {
          this.handleStore(method, path, body, res);
        }
        return;
      case "json":
        if (action.status >= 200 && action.status < 300) this.ack(method, path, res, action.status, action.body);
        else send(res, action.status, "application/json", JSON.stringify(action.body));
        return;
      case "status": {
        const problem = { type: "about:blank", title: "error", status: action.status, detail: action.detail ?? "" };
        if (action.retryAfter) res.setHeader("retry-after", action.retryAfter);
        send(res, action.status, "application/problem+json", JSON.stringify(problem));
        return;
      }
      case "hang":
        if (action.store) this.store(path, body);
        return;
      case "reset":
        res.socket?.destroy();
        return;
    }
  }

  private handleStore(method: string, path: string, body: Buffer, res: ServerResponse): void {
    if (res.destroyed) return;
    this.store(path, body);
    this.ack(method, path, res, 200, "{}");
  }

  private store(path: string, body: Buffer): void {
    const previous = this.objects.get(path);
    if (previous && !previous.equals(body)) this.conflicts.push(path);
    this.objects.set(path, body);
  }

  private ack(method: string, path: string, res: ServerResponse, status: number, body: unknown): void {
    this.events.push({ type: "ack", method, path });
    send(res, status, "application/json", typeof body === "string" ? body : JSON.stringify(body));
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
  res.end(body);
}
