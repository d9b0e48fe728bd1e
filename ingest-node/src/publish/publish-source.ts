// What the node needs from a publisher, whatever protocol brought it (RTMP, SRT, WHIP): key, source facts, FLV tags.
import type { LatencyMode } from "../../../protocol/latency.ts";
import type { FlvTagInfo } from "../rtmp/flv-tag.ts";

/** What the publisher's metadata and tags tell about its media. */
export interface SourceInfo {
  width: number | null;
  height: number | null;
  fps: number | null;
  videoCodec: "h264" | "hevc" | "other" | null;
  audioCodec: "aac" | "other" | null;
  keyframeInterval: number | null;
}

/** What the edge's grant tells a protocol about the publish it authorized. */
export interface PublishAuthorization {
  /** The stream's latency mode: an `interactive` stream is cut into LL-HLS parts, where every millisecond shows. */
  latencyMode: LatencyMode;
}

/** Receives every FLV tag (header first) once a feed is attached. */
export type TagListener = (tag: Buffer, info: FlvTagInfo | null) => void;

/**
 * One publisher as the pipeline sees it. Each protocol adapts its connection to this; the node's key check, lease,
 * pipeline, reconnect window, fencing and status then work the same for all of them.
 */
export interface PublishSource {
  /** A unique id for logs. */
  readonly id: string;
  /** The publisher's address (for the edge's client_ip; never a secret). */
  readonly remoteAddress: string;
  /** When the connection was opened (ms since the epoch). */
  readonly startedAt: number;
  /** Resolves with the reason once the publisher is gone (connection closed or silent too long). */
  readonly ended: Promise<string>;
  /** True while the publisher is connected. */
  readonly active: boolean;
  /** Bytes received from the publisher so far. */
  readonly bytesIn: number;
  /** The stream key the publisher sent (a secret: never log it). */
  streamKey(): string;
  /** Facts about the source so far (the keyframe interval once two keyframes were seen). */
  source(): SourceInfo;
  /** Subscribes to the media as an FLV byte stream: the FLV header, codec headers, then every tag in order. */
  attachFeed(listener: TagListener): void;
  /** The edge authorized this publish: lift whatever the protocol limits before authorization. */
  authorize(authorization: PublishAuthorization): void;
  /** Disconnects the publisher (refused key, duplicate, shutdown, silence, fencing). */
  close(reason: string): void;
}
