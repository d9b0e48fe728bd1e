// The edge's JSON ingest calls (publish, unpublish, heartbeats), with the uploader's retry policy.
import type {
  NodeHeartbeat,
  NodeHeartbeatAnswer,
  PublishRequest,
  PublishResponse,
  StreamHeartbeat,
  StreamHeartbeatAnswer,
  UnpublishRequest,
} from "../../../protocol/ingest.ts";
import { NodeHeartbeatAnswerSchema, PublishResponseSchema, StreamHeartbeatAnswerSchema } from "../../../protocol/ingest.ts";
import { ingestPaths } from "../../../protocol/ingest-paths.ts";
import type { EdgeEndpoint, EdgeReply, EdgeRequest } from "./edge-http.ts";
import { edgeRequest } from "./edge-http.ts";
import type { UploadLogger } from "./media-sink.ts";
import type { Random, RetryPolicy, Sleep } from "./retry.ts";
import { realSleep, retryPolicy, withRetry } from "./retry.ts";
import { EdgeBadResponseError, EdgeUnavailableError, UploadError } from "./upload-errors.ts";

/** Configuration of an EdgeClient. */
export interface EdgeClientConfig extends EdgeEndpoint {
  /** Timeout of one request (default 5 s). */
  requestTimeoutMs?: number;
  /** Publish is on the publisher's critical path: a short timeout (default 3 s)... */
  publishTimeoutMs?: number;
  /** ...and few attempts (default 2). */
  publishAttempts?: number;
  /** Attempts of a heartbeat before giving up: the next one supersedes it (default 3). */
  heartbeatAttempts?: number;
  /** Backoff between attempts (default 200 ms base, 5 s cap). */
  retry?: Partial<RetryPolicy>;
  sleep?: Sleep;
  random?: Random;
  logger?: UploadLogger;
  /** TRANSCODE=queue: every publish asks the edge to grant the worker pool these renditions. */
  poolRenditions?: string[];
}

/** Defaults of EdgeClientConfig, merged once. */
export const EDGE_CLIENT_DEFAULTS = {
  requestTimeoutMs: 5_000,
  publishTimeoutMs: 3_000,
  publishAttempts: 2,
  heartbeatAttempts: 3,
};

/** Options of one call: an abort signal, and a different number of attempts. */
export interface CallOptions {
  signal?: AbortSignal;
  maxAttempts?: number;
}

/** EdgeClient makes the node's JSON calls to the edge; errors are the uploader's typed errors. */
export class EdgeClient {
  private readonly endpoint: EdgeEndpoint;
  private readonly settings: typeof EDGE_CLIENT_DEFAULTS;
  private readonly policy: RetryPolicy;
  private readonly sleep: Sleep;
  private readonly random: Random;
  private readonly logger: UploadLogger;
  private readonly poolRenditions: string[] | undefined;

  constructor(config: EdgeClientConfig) {
    const { edgeUrl, nodeId, credential } = config;
    this.endpoint = { edgeUrl, nodeId, credential };
    const defaults = EDGE_CLIENT_DEFAULTS;
    this.settings = {
      requestTimeoutMs: config.requestTimeoutMs ?? defaults.requestTimeoutMs,
      publishTimeoutMs: config.publishTimeoutMs ?? defaults.publishTimeoutMs,
      publishAttempts: config.publishAttempts ?? defaults.publishAttempts,
      heartbeatAttempts: config.heartbeatAttempts ?? defaults.heartbeatAttempts,
    };
    this.policy = retryPolicy(config.retry);
    this.sleep = config.sleep ?? realSleep;
    this.random = config.random ?? Math.random;
    this.logger = config.logger ?? console;
    this.poolRenditions = config.poolRenditions;
  }

  /** Asks whether a stream key may publish here; fails fast (EdgeRejectedError 403/404/409 for a refused key). */
  async publish(request: PublishRequest, options: CallOptions = {}): Promise<PublishResponse> {
    const reply = await this.call(
      {
        path: ingestPaths.publish(),
        body: this.poolRenditions ? { ...request, pool_renditions: this.poolRenditions } : request,
        timeoutMs: this.settings.publishTimeoutMs,
      },
      options.maxAttempts ?? this.settings.publishAttempts,
      options.signal,
    );
    let json: unknown;
    try {
      json = JSON.parse(reply.body);
    } catch (error) {
      throw new EdgeBadResponseError("publish answer is not JSON", { cause: error });
    }
    const parsed = PublishResponseSchema.safeParse(json);
    if (!parsed.success) {
      throw new EdgeBadResponseError(`publish answer does not match the protocol: ${parsed.error.message}`);
    }
    return parsed.data;
  }

  /** Tells the edge the publisher left; retries until it succeeds or `signal` aborts (StreamFencedError on 409). */
  async unpublish(request: UnpublishRequest, options: CallOptions = {}): Promise<void> {
    await this.call(
      {
        path: ingestPaths.unpublish(),
        body: request,
        timeoutMs: this.settings.requestTimeoutMs,
        fence: { streamId: request.stream_id, epoch: request.epoch },
      },
      options.maxAttempts ?? Infinity,
      options.signal,
    );
  }

  /**
   * Reports a live stream's health; StreamFencedError on 409 means this node no longer holds the stream. The answer
   * may ask the node to stop the broadcast gracefully (the owner called stop: disconnect the publisher, flush).
   */
  async streamHeartbeat(streamId: string, heartbeat: StreamHeartbeat, options: CallOptions = {}): Promise<StreamHeartbeatAnswer> {
    const reply = await this.call(
      {
        path: ingestPaths.streamHeartbeat(streamId),
        body: heartbeat,
        timeoutMs: this.settings.requestTimeoutMs,
        fence: { streamId, epoch: heartbeat.epoch },
      },
      options.maxAttempts ?? this.settings.heartbeatAttempts,
      options.signal,
    );
    let json: unknown = {};
    try {
      json = JSON.parse(reply.body || "{}");
    } catch {
      // an older edge answers without a body: nothing to act on
    }
    const parsed = StreamHeartbeatAnswerSchema.safeParse(json);
    return parsed.success ? parsed.data : { ok: true, stop: false, disconnect: false };
  }

  /**
   * Reports this node's load and public RTMP URL; the answer says which region and URL the edge offers streamers for
   * it (its credential's region; the URL only when the region's configured hosts allow it).
   */
  async nodeHeartbeat(heartbeat: NodeHeartbeat, options: CallOptions = {}): Promise<NodeHeartbeatAnswer> {
    const reply = await this.call(
      { path: ingestPaths.nodeHeartbeat(), body: heartbeat, timeoutMs: this.settings.requestTimeoutMs },
      options.maxAttempts ?? this.settings.heartbeatAttempts,
      options.signal,
    );
    let json: unknown = {};
    try {
      json = JSON.parse(reply.body || "{}");
    } catch {
      // an older edge answers without a body: nothing to compare
    }
    const parsed = NodeHeartbeatAnswerSchema.safeParse(json);
    return parsed.success ? parsed.data : { ok: true };
  }

  private call(
    request: Pick<EdgeRequest, "path" | "timeoutMs" | "fence"> & { body: unknown },
    maxAttempts: number,
    signal: AbortSignal | undefined,
  ): Promise<EdgeReply> {
    const body = JSON.stringify(request.body);
    return withRetry(() => edgeRequest(this.endpoint, { ...request, method: "POST", body, contentType: "application/json", signal }), {
      policy: { ...this.policy, maxAttempts },
      isRetryable: (error) => error instanceof UploadError && error.retryable,
      serverHintMs: (error) => (error instanceof EdgeUnavailableError ? error.retryAfterMs : null),
      sleep: this.sleep,
      random: this.random,
      signal,
      onRetry: (error, retry, delayMs) => {
        if (retry % 10 === 0) {
          this.logger.warn("edge: retrying", {
            path: request.path,
            retry: retry + 1,
            delayMs,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      },
    });
  }
}
