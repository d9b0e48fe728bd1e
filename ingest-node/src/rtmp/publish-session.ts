// One RTMP publisher as the node sees it: its key, its source facts, its FLV tags, and when it is gone.
import { randomUUID } from "node:crypto";
import { FLV_CODEC, type NmsBroadcast, type NmsSession } from "./nms.ts";
import { KeyframeIntervalMeter, readFlvTag } from "./flv-tag.ts";
import type { PublishAuthorization, PublishSource, SourceInfo, TagListener } from "../publish/publish-source.ts";

export type { SourceInfo, TagListener } from "../publish/publish-source.ts";

/** A publisher connected over RTMP, wrapped so the rest of the node never touches node-media-server. */
export class PublishSession implements PublishSource {
  readonly id: string;
  readonly remoteAddress: string;
  readonly startedAt = Date.now();
  /** Resolves with the reason once the publisher is gone (connection closed or silent too long). */
  readonly ended: Promise<string>;
  private readonly key: string;
  private readonly nmsSession: NmsSession;
  private readonly meter = new KeyframeIntervalMeter();
  private lastDataAt = Date.now();
  private endReason: string | null = null;
  private resolveEnded!: (reason: string) => void;
  private watchdog: NodeJS.Timeout;
  private feed: NmsSession | null = null;
  private readonly onAuthorized: (authorization: PublishAuthorization) => void;

  /** `onAuthorized` runs once the edge authorized the publish (the listener lifts its pre-authorization limits). */
  constructor(nmsSession: NmsSession, silenceTimeoutMs: number, onAuthorized: (authorization: PublishAuthorization) => void = () => {}) {
    this.nmsSession = nmsSession;
    this.onAuthorized = onAuthorized;
    this.id = nmsSession.id;
    this.key = nmsSession.streamName;
    this.remoteAddress = nmsSession.ip;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    const socket = nmsSession.socket;
    socket?.on("data", () => (this.lastDataAt = Date.now()));
    socket?.once("close", () => this.finish("connection closed"));
    this.watchdog = setInterval(
      () => {
        if (Date.now() - this.lastDataAt > silenceTimeoutMs) this.close(`silent for ${silenceTimeoutMs} ms`);
      },
      Math.min(500, silenceTimeoutMs / 2),
    );
    this.watchdog.unref();
  }

  /** The stream key the publisher sent (a secret: never log it). */
  streamKey(): string {
    return this.key;
  }

  /** True while the publisher is connected. */
  get active(): boolean {
    return this.endReason === null;
  }

  /** Bytes received from the publisher so far. */
  get bytesIn(): number {
    return this.nmsSession.inBytes;
  }

  /** Facts about the source so far (metadata arrives right after publish; keyframe interval after two keyframes). */
  source(): SourceInfo {
    const s = this.nmsSession;
    const codec = (id: number, known: Record<number, string>) => (id ? (known[id] ?? "other") : null);
    return {
      width: s.videoWidth || null,
      height: s.videoHeight || null,
      fps: s.videoFramerate || null,
      videoCodec: codec(s.videoCodec, { [FLV_CODEC.H264]: "h264", [FLV_CODEC.HEVC]: "hevc" }) as SourceInfo["videoCodec"],
      audioCodec: codec(s.audioCodec, { [FLV_CODEC.AAC]: "aac" }) as SourceInfo["audioCodec"],
      keyframeInterval: this.meter.intervalSeconds(),
    };
  }

  /**
   * Subscribes to the publisher's media as an FLV byte stream: node-media-server sends the FLV file header, cached
   * metadata and codec headers, the current GOP, then every new tag. Write them in order and it is a valid FLV file.
   */
  attachFeed(listener: TagListener): void {
    const broadcast = this.nmsSession.broadcast;
    if (!broadcast || this.feed || !this.active) return;
    const feed: NmsSession = {
      id: `feed-${randomUUID()}`,
      // An empty ip marks an internal session: node-media-server emits no play events for it.
      ip: "",
      protocol: "flv",
      streamApp: this.nmsSession.streamApp,
      streamName: this.nmsSession.streamName,
      streamPath: this.nmsSession.streamPath,
      videoCodec: 0,
      videoWidth: 0,
      videoHeight: 0,
      videoFramerate: 0,
      audioCodec: 0,
      inBytes: 0,
      sendBuffer: (buffer: Buffer) => {
        const info = readFlvTag(buffer);
        if (info) this.meter.observe(info);
        listener(buffer, info);
      },
      close: () => {},
    };
    this.feed = feed;
    broadcast.postPlay(feed);
    // The feed got the cached GOP; nothing else ever plays from this node, so from here node-media-server's GOP cache
    // (two copies of up to 4096 messages of up to RTMP_MAX_MESSAGE_BYTES each) would only hold memory.
    suppressGopCache(broadcast);
  }

  /** The edge authorized this publish: from now on it may send as a publisher does, past the pre-authorization budget. */
  authorize(authorization: PublishAuthorization): void {
    if (this.active) this.onAuthorized(authorization);
  }

  /** Disconnects the publisher (refused key, duplicate, shutdown, silence). */
  close(reason: string): void {
    if (!this.active) return;
    this.nmsSession.socket?.destroy();
    this.finish(reason);
  }

  private finish(reason: string): void {
    if (this.endReason !== null) return;
    this.endReason = reason;
    clearInterval(this.watchdog);
    if (this.feed && this.nmsSession.broadcast) restoreGopCache(this.nmsSession.broadcast);
    if (this.feed) this.nmsSession.broadcast?.donePlay(this.feed);
    this.resolveEnded(reason);
  }
}

/** node-media-server's GOP cache fields on a broadcast (it recreates them at every keyframe). */
const GOP_CACHES = ["flvGopCache", "rtmpGopCache"] as const;

/** A Set that holds nothing: node-media-server adds to it, clears it and iterates it as its GOP cache. */
class DiscardingSet<T> extends Set<T> {
  override add(): this {
    return this;
  }
}

/** Empties a broadcast's GOP caches and keeps them empty (node-media-server's own assignments are dropped). */
function suppressGopCache(broadcast: NmsBroadcast): void {
  for (const field of GOP_CACHES) {
    broadcast[field]?.clear();
    const empty = new DiscardingSet<Buffer>();
    Object.defineProperty(broadcast, field, { configurable: true, get: () => empty, set: () => {} });
  }
}

/** Gives a broadcast its GOP caches back (a later publisher on the same broadcast needs them before its feed). */
function restoreGopCache(broadcast: NmsBroadcast): void {
  for (const field of GOP_CACHES) Object.defineProperty(broadcast, field, { configurable: true, writable: true, enumerable: true, value: null });
}
