// A WHIP session's RTP (reordered) over loopback UDP into a local FFmpeg that writes the FLV feed the pipeline reads.
//
// Why this path: the pipeline reads an FLV tag feed (what RTMP publishers give), and FLV cannot carry Opus or VP8.
// FFmpeg's RTP demuxer already depacketizes H.264/VP8/Opus, copies H.264 (no quality loss, ~1 % of a core) and
// encodes Opus to AAC; reimplementing H.264 depacketizing, an Opus decoder and an AAC encoder in the node would be far
// more code for the same result. werift does what FFmpeg's RTP input cannot: ICE/DTLS/SRTP, NACK and RTX. Our reorder
// buffer (rtp-reorder-buffer.ts) puts the packets back in order (retransmissions arrive late) before they go to FFmpeg,
// which only sees a clean, ordered loopback stream. Lip sync: both streams start with the publish and carry their own RTP clocks;
// RTCP is not forwarded because FFmpeg re-bases its timestamps on the first sender report, a jump mid-stream.
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import type { RtpPacket } from "werift";
import type { Logger } from "../log.ts";
import { FlvChunker } from "./flv-chunker.ts";
import { type ReorderOutput, RtpReorderBuffer } from "./rtp-reorder-buffer.ts";
import { bridgeArgs, rtpInputSdp, type WhipMedia, type WhipVideoCodec } from "./whip-media-plan.ts";

/** Options of an RtpFlvBridge. */
export interface RtpFlvBridgeOptions {
  ffmpegBinary: string;
  video: { codec: WhipVideoCodec; payloadType: number };
  audio: { payloadType: number; channels: number } | null;
  segmentTarget: number;
  preset: string;
  /** How long the jitter buffer waits for a missing packet (a NACK's retransmission) before skipping it, ms. */
  jitterMs: number;
  /** Most packets one track's reorder buffer holds. */
  jitterPackets: number;
  log: Logger;
  /** Receives the FLV header, then each tag (with its PreviousTagSize). */
  onFlv: (chunk: Buffer) => void;
  /** Receives every video packet in order, after the jitter buffer. */
  onVideoPacket?: (rtp: RtpPacket) => void;
}

/** Packets the reorder buffers gave up on (lost even after NACK) and packets sent on to FFmpeg. */
export interface BridgeStats {
  lostPackets: number;
  forwardedPackets: number;
}

/** One track's reorder buffer, its loopback port and the timer that gives up a gap when no packet comes. */
interface TrackReorder {
  buffer: RtpReorderBuffer<RtpPacket>;
  port: number;
  timer: NodeJS.Timeout | null;
  /** The gap deadline the timer is armed for (the buffer's clock), or null. */
  timerDeadline: number | null;
  onLost: (lost: number, from: number) => void;
}

/** One FFmpeg per WHIP session, fed RTP over 127.0.0.1. */
export class RtpFlvBridge {
  /** Resolves when FFmpeg exited (with why). */
  readonly exited: Promise<string>;
  readonly stats: BridgeStats = { lostPackets: 0, forwardedPackets: 0 };
  private readonly child: ChildProcess;
  private readonly socket: Socket;
  private readonly media: WhipMedia;
  private readonly videoTrack: TrackReorder;
  private readonly audioTrack: TrackReorder | null;
  private readonly onVideoPacket: ((rtp: RtpPacket) => void) | undefined;
  private closed = false;

  private constructor(options: RtpFlvBridgeOptions, ports: number[], socket: Socket) {
    this.socket = socket;
    this.media = {
      video: { ...options.video, port: ports[0]! },
      audio: options.audio ? { ...options.audio, port: ports[1]! } : null,
    };
    const args = bridgeArgs({ media: this.media, segmentTarget: options.segmentTarget, preset: options.preset });
    this.child = spawn(options.ffmpegBinary, args, { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdin!.end(rtpInputSdp(this.media));
    const chunker = new FlvChunker();
    this.child.stdout!.on("data", (data: Buffer) => {
      try {
        for (const chunk of chunker.push(data)) options.onFlv(chunk);
      } catch (err) {
        options.log.error("the bridge's FFmpeg wrote no valid FLV", { error: (err as Error).message });
        this.child.kill("SIGKILL");
      }
    });
    let stderr = "";
    this.child.stderr!.on("data", (data: Buffer) => {
      stderr = (stderr + data.toString("utf8")).slice(-2000);
    });
    this.exited = new Promise((resolve) => {
      this.child.once("error", (err) => resolve(`ffmpeg could not start: ${err.message}`));
      this.child.once("exit", (code, signal) => {
        const last = stderr.trim().split("\n").slice(-2).join(" | ");
        resolve(signal ? `ffmpeg ended by ${signal}` : `ffmpeg exited with ${code}${last ? `: ${last}` : ""}`);
      });
    });
    const settings = { latencyMs: options.jitterMs, maxPackets: options.jitterPackets };
    this.onVideoPacket = options.onVideoPacket;
    this.videoTrack = {
      buffer: new RtpReorderBuffer(settings),
      port: this.media.video.port,
      timer: null,
      timerDeadline: null,
      onLost: (lost, from) => {
        this.stats.lostPackets += lost;
        // Rare on a link NACK can repair: each one is a picture FFmpeg passes on damaged until the next keyframe.
        options.log.warn("video packets lost after retransmission requests", { lost, from, total: this.stats.lostPackets });
      },
    };
    this.audioTrack = this.media.audio
      ? { buffer: new RtpReorderBuffer(settings), port: this.media.audio.port, timer: null, timerDeadline: null, onLost: () => {} }
      : null;
  }

  /** Picks loopback ports for FFmpeg and starts it. */
  static async start(options: RtpFlvBridgeOptions): Promise<RtpFlvBridge> {
    const ports = [await freeRtpPort()];
    if (options.audio) ports.push(await freeRtpPort(ports[0]));
    const socket = createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, "127.0.0.1", () => resolve());
    });
    return new RtpFlvBridge(options, ports, socket);
  }

  /** FFmpeg's process id (for logs and CPU measurements). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** One video RTP packet as received (decrypted, RTX unwrapped). */
  video(rtp: RtpPacket): void {
    this.receive(this.videoTrack, rtp);
  }

  /** One audio RTP packet as received. */
  audio(rtp: RtpPacket): void {
    if (this.audioTrack) this.receive(this.audioTrack, rtp);
  }

  /** Stops forwarding and lets FFmpeg write what it has (SIGINT), then kills it if it lingers. */
  async close(): Promise<void> {
    if (this.closed) return this.exited.then(() => undefined);
    // What is still held goes to FFmpeg first: at most a jitter latency of media, the end of the broadcast.
    for (const track of [this.videoTrack, this.audioTrack]) if (track) this.forward(track, track.buffer.flush());
    this.closed = true;
    for (const track of [this.videoTrack, this.audioTrack]) if (track?.timer) clearTimeout(track.timer);
    this.socket.close();
    this.child.kill("SIGINT");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 2_000);
    await this.exited;
    clearTimeout(timer);
  }

  private receive(track: TrackReorder, rtp: RtpPacket): void {
    if (this.closed) return;
    this.forward(track, track.buffer.push(rtp.header.sequenceNumber, rtp, performance.now()));
  }

  /** Sends what the buffer released and, while a gap is waited for, arms a timer to give it up if nothing comes. */
  private forward(track: TrackReorder, released: ReorderOutput<RtpPacket>[]): void {
    for (const item of released) {
      if ("lost" in item) track.onLost(item.lost, item.from);
      else {
        if (track === this.videoTrack) this.onVideoPacket?.(item.packet);
        this.send(item.packet, track.port);
      }
    }
    const deadline = this.closed ? null : track.buffer.deadline;
    // Packets keep coming while a gap is waited for: the timer armed for the same deadline stays.
    if (deadline === track.timerDeadline) return;
    if (track.timer) clearTimeout(track.timer);
    track.timer = null;
    track.timerDeadline = deadline;
    if (deadline === null) return;
    track.timer = setTimeout(
      () => {
        track.timer = null;
        track.timerDeadline = null;
        if (!this.closed) this.forward(track, track.buffer.expire(performance.now()));
      },
      Math.max(1, deadline - performance.now()),
    );
  }

  private send(rtp: RtpPacket, port: number): void {
    if (this.closed) return;
    this.stats.forwardedPackets++;
    this.socket.send(rtp.serialize(), port, "127.0.0.1");
  }
}

/**
 * An even loopback port whose next port (FFmpeg's RTCP) is free too. Why probe and release: FFmpeg binds the ports
 * the SDP names itself; the short window in between is harmless on a node's loopback (a clash fails the publish).
 */
async function freeRtpPort(avoid?: number): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const probe = await bindUdp(0);
    const port = probe.address().port;
    probe.close();
    const even = port % 2 === 0 ? port : port + 1;
    if (even + 1 > 65535 || even === avoid || even === (avoid ?? -2) + 1 || even + 1 === avoid) continue;
    const pair = await Promise.all([bindUdp(even).catch(() => null), bindUdp(even + 1).catch(() => null)]);
    for (const s of pair) s?.close();
    if (pair.every((s) => s !== null)) return even;
  }
  throw new Error("no free loopback UDP port pair for the WHIP bridge");
}

function bindUdp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", (err) => {
      socket.close();
      reject(err);
    });
    socket.bind(port, "127.0.0.1", () => resolve(socket));
  });
}
