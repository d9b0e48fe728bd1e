// The parts of node-media-server 4 the node uses, typed. Only this file reaches into its modules.
import { createRequire } from "node:module";
import type { Socket } from "node:net";
import type { EventEmitter } from "node:events";
import { flvTagPool } from "./flv-tag-pool.ts";

const require = createRequire(import.meta.url);

/** A node-media-server session (RTMP publisher or player, or an internal subscriber). */
export interface NmsSession {
  id: string;
  ip: string;
  protocol: string;
  isPublisher?: boolean;
  streamApp: string;
  streamName: string;
  streamPath: string;
  socket?: Socket;
  broadcast?: NmsBroadcast;
  videoCodec: number;
  videoWidth: number;
  videoHeight: number;
  videoFramerate: number;
  audioCodec: number;
  inBytes: number;
  sendBuffer(buffer: Buffer): void;
  close(): void;
}

/** A node-media-server broadcast: one stream path, its publisher and subscribers. */
export interface NmsBroadcast {
  publisher: NmsSession | null;
  publishGraceMs: number;
  /** Messages since the last keyframe, kept for players that join (FLV and RTMP copies); null before a keyframe. */
  flvGopCache: Set<Buffer> | null;
  rtmpGopCache: Set<Buffer> | null;
  postPlay(session: NmsSession): string | null;
  donePlay(session: NmsSession): void;
}

/** node-media-server's RTMP session class. */
export interface NmsRtmpSessionClass {
  new (socket: Socket): NmsSession & { run(): void; onData(data: Buffer): void };
}

/** The loaded modules. */
export const nms = {
  Context: require("node-media-server/src/core/context.js") as {
    config: Record<string, unknown>;
    sessions: Map<string, NmsSession>;
    broadcasts: Map<string, NmsBroadcast>;
    eventEmitter: EventEmitter;
  },
  RtmpSession: require("node-media-server/src/session/rtmp_session.js") as NmsRtmpSessionClass,
  logger: require("node-media-server/src/core/logger.js") as {
    level: string;
    log(message: string, level?: string): void;
  },
  createFlvHeader: (require("node-media-server/src/protocol/flv.js") as { createHeader(a: boolean, v: boolean): Buffer }).createHeader,
};

/** node-media-server's RTMP protocol module: its message writer is replaced below. */
const rtmpProtocol = require("node-media-server/src/protocol/rtmp.js") as { createMessage(packet: unknown): Buffer };
const NO_RTMP_MESSAGE = Buffer.alloc(0);
// Why: node-media-server writes every publisher message twice, as an FLV tag (the node's feed) and as RTMP chunks for
// RTMP players. The node refuses RTMP play (rtmp-server.ts), so the chunked copy of every frame was never read; it was
// a third of the node's per-frame allocation. Its only other user is the relay client, which the node does not run.
rtmpProtocol.createMessage = () => NO_RTMP_MESSAGE;

/** What node-media-server's FLV message writer reads of a packet. */
interface NmsPacket {
  codec_type: number;
  /** 1 audio frame, 3 video keyframe, 4 other video frame (0, 2: codec configurations, 5: metadata). */
  flags?: number;
  size: number;
  dts: number;
  data: Buffer;
}

/** Packet flags of media frames: their tags come from the pool (configurations and metadata are kept by others). */
const MEDIA_FRAME_FLAGS = new Set([1, 3, 4]);
const flvProtocol = require("node-media-server/src/protocol/flv.js") as { createMessage(packet: NmsPacket): Buffer };

/**
 * The FLV tag of one publisher message: the 11-byte tag header, the payload, the PreviousTagSize. The same bytes as
 * node-media-server's own writer, without zero-filling the buffer first (every byte is written): the zero-fill was
 * the node's largest single cost per frame. A media frame's tag is lent by the node's FLV tag pool (the native remux
 * gives it back once the frame is in its fragment); the rest come from Node's allocator, as they are kept (the feed
 * keeps the latest codec configurations and metadata to replay them).
 */
export function writeFlvMessage(packet: NmsPacket): Buffer {
  const size = packet.size;
  const tag = MEDIA_FRAME_FLAGS.has(packet.flags ?? 0) ? flvTagPool.take(11 + size + 4) : Buffer.allocUnsafe(11 + size + 4);
  tag[0] = packet.codec_type;
  tag.writeUIntBE(size, 1, 3);
  tag[4] = (packet.dts >> 16) & 0xff;
  tag[5] = (packet.dts >> 8) & 0xff;
  tag[6] = packet.dts & 0xff;
  tag[7] = (packet.dts >> 24) & 0xff;
  tag[8] = 0;
  tag[9] = 0;
  tag[10] = 0;
  packet.data.copy(tag, 11, 0, size);
  tag.writeUInt32BE(11 + size, 11 + size);
  return tag;
}
flvProtocol.createMessage = writeFlvMessage;

/** FLV codec ids as node-media-server reports them from onMetaData. */
export const FLV_CODEC = { H264: 7, HEVC: 12, AAC: 10 } as const;
