// The LiveStream Durable Object: one per stream, the single source of truth for what is live now.
import { DurableObject } from "cloudflare:workers";
import { recordBroadcastEnd, recordBroadcastStart } from "../streams/broadcast-ledger.ts";

/** What the object remembers about the current (or last) broadcast. */
export interface LiveMeta {
  streamId: string | null;
  status: "live" | "offline";
  startedAt: string | null;
  sessionId: string | null;
  record: boolean;
  ingestConnected: boolean;
  nodeId: string | null;
}

/** The live part of `GET /streams/:id/status`. */
export interface LiveStatus {
  status: "live" | "offline";
  started_at: string | null;
  viewers: number;
  bitrate_kbps: number;
  renditions: string[];
  health: {
    ingest_connected: boolean;
    node_id: string | null;
  };
}

/** Why a broadcast ended. */
export type EndReason = "stopped" | "reconnect_window_expired" | "deleted";

const META_KEY = "meta";

const INITIAL_META: LiveMeta = {
  streamId: null,
  status: "offline",
  startedAt: null,
  sessionId: null,
  record: true,
  ingestConnected: false,
  nodeId: null,
};

/** Durable Object holding one stream's live state. */
export class LiveStream extends DurableObject<Env> {
  private meta: LiveMeta = { ...INITIAL_META };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Load before any request is delivered so every method sees the persisted state after an eviction.
    ctx.blockConcurrencyWhile(async () => {
      this.meta = (await ctx.storage.get<LiveMeta>(META_KEY)) ?? { ...INITIAL_META };
    });
  }

  private async save(): Promise<void> {
    await this.ctx.storage.put(META_KEY, this.meta);
  }

  /** Marks the stream live (idempotent): a new broadcast session unless one is already running. */
  async start(streamId: string, options: { record: boolean; nodeId?: string | null }): Promise<LiveMeta> {
    this.meta.streamId = streamId;
    if (this.meta.status === "live") return this.meta;
    const startedAt = new Date().toISOString();
    const sessionId = crypto.randomUUID();
    await recordBroadcastStart(this.env, streamId, sessionId, startedAt, options.nodeId ?? null, options.record);
    this.meta = {
      ...this.meta,
      status: "live",
      startedAt,
      sessionId,
      record: options.record,
      nodeId: options.nodeId ?? null,
      ingestConnected: options.nodeId != null,
    };
    await this.save();
    return this.meta;
  }

  /** Ends the broadcast (idempotent): the session closes and the stream turns offline. */
  async stop(streamId: string, reason: EndReason = "stopped"): Promise<LiveMeta> {
    this.meta.streamId = streamId;
    if (this.meta.status === "offline") return this.meta;
    await recordBroadcastEnd(this.env, streamId, this.meta.sessionId, new Date().toISOString(), reason);
    this.meta = { ...this.meta, status: "offline", ingestConnected: false, nodeId: null };
    await this.save();
    await this.ctx.storage.deleteAlarm();
    return this.meta;
  }

  /** The live status for the control API. */
  async status(): Promise<LiveStatus> {
    return {
      status: this.meta.status,
      started_at: this.meta.startedAt,
      viewers: 0,
      bitrate_kbps: 0,
      renditions: [],
      health: { ingest_connected: this.meta.ingestConnected, node_id: this.meta.nodeId },
    };
  }

  /** Forgets everything (the stream was deleted). */
  async destroy(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.meta = { ...INITIAL_META };
  }
}
