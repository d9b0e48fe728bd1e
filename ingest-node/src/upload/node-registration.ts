// A node that holds only the bootstrap secret registers itself: the edge mints this node id's own expiring
// credential, which every other call then uses; it is renewed before it expires, and at once when the edge refuses it.
import { NodeCredentialSchema } from "../../../protocol/ingest.ts";
import { ingestPaths } from "../../../protocol/ingest-paths.ts";
import type { CredentialSource } from "./edge-http.ts";
import { edgeRequest } from "./edge-http.ts";
import type { UploadLogger } from "./media-sink.ts";
import { EdgeBadResponseError, EdgeRejectedError } from "./upload-errors.ts";

/** Configuration of a NodeRegistration. */
export interface NodeRegistrationConfig {
  edgeUrl: string;
  nodeId: string;
  region: string;
  /** The bootstrap secret (INGEST_SECRET): sent only to the registration route. */
  bootstrapSecret: string;
  logger?: UploadLogger;
  /** Renew once this fraction of the credential's lifetime has passed (default 2/3). */
  renewAt?: number;
  /** Wait after a failed registration before the next (default 5 s, doubling up to 60 s). */
  retryMs?: number;
  /** Timeout of one registration request (default 5 s). */
  requestTimeoutMs?: number;
  now?: () => number;
}

/** Defaults of NodeRegistrationConfig, merged once. */
export const NODE_REGISTRATION_DEFAULTS = { renewAt: 2 / 3, retryMs: 5_000, maxRetryMs: 60_000, requestTimeoutMs: 5_000 };

/** NodeRegistration holds the node's minted credential and keeps it valid: a CredentialSource for edge requests. */
export class NodeRegistration implements CredentialSource {
  private readonly config: Required<Omit<NodeRegistrationConfig, "logger">> & { logger: UploadLogger };
  private credential = "";
  private expiresAt = 0;
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private stopped = false;
  /** Registrations that succeeded (the first one included). */
  registrations = 0;

  constructor(config: NodeRegistrationConfig) {
    const d = NODE_REGISTRATION_DEFAULTS;
    this.config = {
      ...config,
      logger: config.logger ?? console,
      renewAt: config.renewAt ?? d.renewAt,
      retryMs: config.retryMs ?? d.retryMs,
      requestTimeoutMs: config.requestTimeoutMs ?? d.requestTimeoutMs,
      now: config.now ?? Date.now,
    };
  }

  /**
   * Registers for the first time. A refused secret (401) or another refusal throws: the node cannot work with it.
   * An unreachable edge does not: the node starts, and registration goes on in the background.
   */
  async start(): Promise<void> {
    try {
      await this.register();
    } catch (error) {
      if (error instanceof EdgeRejectedError || error instanceof EdgeBadResponseError) throw error;
      this.config.logger.warn("edge: cannot register this node yet; retrying", { error: (error as Error).message });
      this.schedule(this.backoff());
    }
  }

  /** The credential to send now ("" until the first registration succeeded: the edge answers 401, and it is retried). */
  current(): string {
    return this.credential;
  }

  /** The edge refused `used`: register again now, unless that already happened since. */
  rejected(used: string): void {
    if (used === this.credential && !this.stopped) void this.renew();
  }

  /** When the current credential expires (ms since the epoch; 0 before the first registration). */
  expiry(): number {
    return this.expiresAt;
  }

  /** Stops renewing (the node is shutting down). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private renew(): Promise<void> {
    this.inFlight ??= this.register()
      .catch((error: unknown) => {
        this.config.logger.error("edge: renewing this node's credential failed; retrying", { error: (error as Error).message });
        this.schedule(this.backoff());
      })
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  private async register(): Promise<void> {
    const { edgeUrl, nodeId, region, bootstrapSecret, requestTimeoutMs } = this.config;
    const reply = await edgeRequest(
      { edgeUrl, nodeId, credential: bootstrapSecret },
      {
        method: "POST",
        path: ingestPaths.nodeRegister(),
        body: JSON.stringify({ node_id: nodeId, region }),
        contentType: "application/json",
        timeoutMs: requestTimeoutMs,
      },
    );
    let json: unknown;
    try {
      json = JSON.parse(reply.body);
    } catch (error) {
      throw new EdgeBadResponseError("registration answer is not JSON", { cause: error });
    }
    const parsed = NodeCredentialSchema.safeParse(json);
    if (!parsed.success) throw new EdgeBadResponseError(`registration answer does not match the protocol: ${parsed.error.message}`);
    const issuedAt = this.config.now();
    this.credential = parsed.data.credential;
    this.expiresAt = Date.parse(parsed.data.expires_at);
    this.failures = 0;
    this.registrations++;
    this.config.logger.info(this.registrations === 1 ? "edge: node registered" : "edge: node credential renewed", { expires_at: parsed.data.expires_at });
    if (parsed.data.region !== region) this.config.logger.warn("edge: registered in another region than asked", { asked: region, region: parsed.data.region });
    this.schedule(Math.max(1_000, (this.expiresAt - issuedAt) * this.config.renewAt));
  }

  private backoff(): number {
    this.failures++;
    return Math.min(NODE_REGISTRATION_DEFAULTS.maxRetryMs, this.config.retryMs * 2 ** (this.failures - 1));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.renew(), delayMs);
    this.timer.unref();
  }
}
