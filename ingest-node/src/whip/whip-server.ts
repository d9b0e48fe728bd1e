// The node's WHIP endpoint (RFC 9725): POST an SDP offer with the stream key as bearer token, get the answer and a
// session URL; DELETE that URL to stop. Its own listener (WHIP_PORT), not the ops server: publishers on the internet
// must reach it, while /healthz and /metrics stay on the ops server's private address.
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { PublishResponse } from "../../../protocol/ingest.ts";
import type { Logger } from "../log.ts";
import type { PublishSource } from "../publish/publish-source.ts";
import { offerHasUsableVideo } from "./whip-media-plan.ts";
import { WhipOfferError, WhipSession, type WhipSessionOptions } from "./whip-session.ts";

/** Why the edge refused a publish (see IngestNode.requestPublish). */
type Refusal = "forbidden" | "conflict" | "unavailable";

/** What the WHIP server needs from the node: the key check with the edge, and the pipeline. */
export interface WhipPublisher {
  requestPublish(streamKey: string, from: string): Promise<{ ok: true; grant: PublishResponse } | { ok: false; reason: Refusal }>;
  acceptPublish(source: PublishSource, grant: PublishResponse): Promise<void>;
}

/** Settings of the WHIP endpoint. */
export interface WhipServerOptions {
  host: string;
  port: number;
  /** WHIP sessions at once; more are answered 503. */
  maxSessions: number;
  /** Largest SDP offer accepted, bytes. */
  maxOfferBytes: number;
  /** Per-session settings except the key, the address and the segment target (which the grant gives). */
  session: Omit<WhipSessionOptions, "segmentTarget" | "log">;
  log: Logger;
}

/** Stream ids as the edge mints them (UUIDs), and session ids (UUIDs). */
const ID = "[0-9a-fA-F-]{8,64}";
const PUBLISH_PATH = new RegExp(`^/whip/(${ID})$`);
const SESSION_PATH = new RegExp(`^/whip/(${ID})/sessions/(${ID})$`);

/**
 * Why CORS allows any origin: the bearer stream key, not a cookie, authenticates every request, so a page anywhere
 * (the dashboard's "Go live from this browser") may publish exactly as OBS does, and no ambient credential leaks.
 */
const CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "POST, DELETE, PATCH, OPTIONS",
  "access-control-allow-headers": "authorization, content-type, if-match",
  "access-control-expose-headers": "location, etag, link",
  "access-control-max-age": "600",
};

/** One live WHIP session: who may end it. */
interface SessionEntry {
  session: WhipSession;
  streamId: string;
  keyHash: Buffer;
}

/** The WHIP listener. */
export class WhipServer {
  private readonly options: WhipServerOptions;
  private readonly publisher: WhipPublisher;
  private readonly sessions = new Map<string, SessionEntry>();
  private server: Server | null = null;
  /** Offers being answered (count toward maxSessions while the edge is asked). */
  private pending = 0;
  private accepting = true;
  /** Requests refused, by reason (for /metrics). */
  readonly refused: Record<string, number> = {};

  constructor(options: WhipServerOptions, publisher: WhipPublisher) {
    this.options = options;
    this.publisher = publisher;
  }

  /** Starts listening; resolves with the bound port. */
  async listen(): Promise<number> {
    const server = createServer((req, res) => void this.handle(req, res));
    // Offers are read before the session cap is checked, so the requests in flight are bounded instead: a few per
    // session, each answered (or cut) within 10 s.
    server.maxConnections = 4 * this.options.maxSessions + 16;
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    const address = server.address();
    return typeof address === "object" && address ? address.port : this.options.port;
  }

  /** WHIP sessions open now. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** New offers are refused (503) from now on; live sessions go on (drain). */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Ends every session and stops listening. */
  async close(): Promise<void> {
    this.accepting = false;
    for (const { session } of this.sessions.values()) session.close("node shutting down");
    await Promise.allSettled([...this.sessions.values()].map((e) => e.session.ended));
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const publish = PUBLISH_PATH.exec(path);
    const session = SESSION_PATH.exec(path);
    try {
      if (req.method === "OPTIONS" && (publish || session)) {
        res.writeHead(204, { ...CORS, allow: publish ? "POST, OPTIONS" : "DELETE, PATCH, OPTIONS" }).end();
      } else if (publish) {
        if (req.method !== "POST") return this.fail(res, 405, "method_not_allowed", "POST an SDP offer here", { allow: "POST, OPTIONS" });
        await this.publish(req, res, publish[1]!);
      } else if (session) {
        // Trickle ICE and ICE restarts are not supported: the answer already holds every candidate (RFC 9725 4.3.1).
        if (req.method === "PATCH") return this.fail(res, 405, "method_not_allowed", "trickle ICE is not supported", { allow: "DELETE, OPTIONS" });
        if (req.method !== "DELETE") return this.fail(res, 405, "method_not_allowed", "DELETE ends the session", { allow: "DELETE, OPTIONS" });
        this.end(req, res, session[1]!, session[2]!);
      } else {
        this.fail(res, 404, "not_found", "WHIP endpoints are /whip/<stream id>");
      }
    } catch (err) {
      this.options.log.error("whip request failed", { error: (err as Error).message });
      if (!res.headersSent) this.fail(res, 500, "internal", "the node could not handle this request");
    }
  }

  private async publish(req: IncomingMessage, res: ServerResponse, streamId: string): Promise<void> {
    const from = req.socket.remoteAddress ?? "";
    if (!(req.headers["content-type"] ?? "").toLowerCase().startsWith("application/sdp")) {
      req.resume();
      return this.fail(res, 415, "unsupported_media_type", "the offer must be application/sdp");
    }
    const key = bearer(req);
    if (!key) {
      req.resume();
      return this.fail(res, 401, "unauthorized", "Authorization: Bearer <stream key> is required", { "www-authenticate": "Bearer" });
    }
    if (!this.accepting) {
      req.resume();
      return this.fail(res, 503, "unavailable", "this node is draining", { "retry-after": "5" });
    }
    const offer = await readBody(req, this.options.maxOfferBytes);
    if (offer === null) return this.fail(res, 413, "offer_too_large", `the offer is over ${this.options.maxOfferBytes} bytes`);
    // Checked before the edge is asked: a bad offer must not take the stream's lease.
    if (!offerHasUsableVideo(offer)) return this.fail(res, 400, "bad_offer", "the offer has no H.264 or VP8 video section");
    if (this.sessions.size + this.pending >= this.options.maxSessions) {
      return this.fail(res, 503, "too_many_sessions", `this node takes at most ${this.options.maxSessions} WHIP sessions`, { "retry-after": "5" });
    }
    this.pending++;
    try {
      const answer = await this.publisher.requestPublish(key, from);
      if (!answer.ok) {
        const [status, code, detail] =
          answer.reason === "forbidden"
            ? ([401, "unauthorized", "unknown or revoked stream key"] as const)
            : answer.reason === "conflict"
              ? ([409, "conflict", "this stream is already being published"] as const)
              : ([503, "unavailable", "the stream key could not be checked now"] as const);
        return this.fail(res, status, code, detail, status === 401 ? { "www-authenticate": "Bearer" } : {});
      }
      const grant = answer.grant;
      const whip = new WhipSession(key, from, { ...this.options.session, segmentTarget: grant.segment_target, log: this.options.log });
      // The grant is taken: the pipeline gets it once the first video keyframe arrived (the ladder is planned with the
      // video's size and codec known), or at once when the session ends before that, to release it cleanly (no media).
      const entry: SessionEntry = { session: whip, streamId: grant.stream_id, keyHash: hash(key) };
      this.sessions.set(whip.id, entry);
      void whip.ended.then(() => this.sessions.delete(whip.id));
      void whip.videoStarted.then(() => this.publisher.acceptPublish(whip, grant));
      if (grant.stream_id !== streamId) {
        whip.close("the stream key belongs to another stream");
        return this.fail(res, 401, "unauthorized", "this stream key is not the key of this stream", { "www-authenticate": "Bearer" });
      }
      let sdp: string;
      try {
        sdp = await whip.answer(offer);
      } catch (err) {
        whip.close("bad offer");
        if (err instanceof WhipOfferError) return this.fail(res, 400, "bad_offer", err.message);
        throw err;
      }
      this.options.log.info("whip session started", { stream: grant.stream_id, session: whip.id, from });
      res.writeHead(201, { ...CORS, "content-type": "application/sdp", location: `/whip/${streamId}/sessions/${whip.id}`, etag: `"${whip.id}"` }).end(sdp);
    } finally {
      this.pending--;
    }
  }

  private end(req: IncomingMessage, res: ServerResponse, streamId: string, sessionId: string): void {
    const entry = this.sessions.get(sessionId);
    const key = bearer(req);
    // Unknown session or wrong key look the same: a session URL reveals nothing without its key.
    if (!entry || entry.streamId !== streamId || !key || !timingSafeEqual(hash(key), entry.keyHash)) {
      this.fail(res, 404, "not_found", "no such WHIP session (or not this key's)");
      return;
    }
    entry.session.close("the publisher ended the session (DELETE)");
    res.writeHead(200, CORS).end();
  }

  private fail(res: ServerResponse, status: number, code: string, detail: string, headers: Record<string, string> = {}): void {
    this.refused[code] = (this.refused[code] ?? 0) + 1;
    const body = JSON.stringify({ type: "about:blank", title: code.replace(/_/g, " "), status, code, detail });
    res.writeHead(status, { ...CORS, ...headers, "content-type": "application/problem+json" }).end(body);
  }
}

/** The bearer token of a request, or null. */
function bearer(req: IncomingMessage): string | null {
  const match = /^Bearer\s+(\S{1,256})$/i.exec(req.headers.authorization ?? "");
  return match?.[1] ?? null;
}

function hash(key: string): Buffer {
  return createHash("sha256").update(key).digest();
}

/** The request body as text, or null once it is over `limit` bytes (the rest is drained, not held). */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.once("end", () => resolve(over ? null : Buffer.concat(chunks).toString("utf8")));
    req.once("error", reject);
  });
}
