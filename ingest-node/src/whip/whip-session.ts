// One WHIP publisher: a werift peer connection receiving H.264/VP8 + Opus, turned into the FLV feed every pipeline
// reads (PublishSource), with keyframe requests on the segment cadence, a wait for the first video keyframe and a
// silence watchdog.
import { randomUUID } from "node:crypto";
import { H264RtpPayload, RTCPeerConnection, type RTCRtpTransceiver, type RtpPacket, useH264, useNACK, useOPUS, usePLI, useVP8, Vp8RtpPayload } from "werift";
import type { Logger } from "../log.ts";
import type { PublishSource, SourceInfo, TagListener } from "../publish/publish-source.ts";
import { KeyframeCadence } from "./keyframe-cadence.ts";
import { RtpFlvBridge } from "./rtp-flv-bridge.ts";
import { WhipFeed } from "./whip-feed.ts";
import { announceCandidates, videoCodecOf } from "./whip-media-plan.ts";

/** What a WHIP session needs from the node. */
export interface WhipSessionOptions {
  ffmpegBinary: string;
  /** UDP ports the peer connection may bind ([min, max]). */
  portRange: [number, number];
  /** The address announced in the answer's candidates (WEBRTC_PUBLIC_IP), or null for the interfaces' own. */
  publicIp: string | null;
  /** Whether `publicIp` is an address of this machine (listen on it alone) rather than a 1:1 NAT's. */
  publicIpIsLocal: boolean;
  /** Keyframe cadence (the stream's segment target, s). */
  segmentTarget: number;
  preset: string;
  /** A publisher silent this long (ms) is gone; also the longest wait for ICE to connect (times 3). */
  silenceTimeoutMs: number;
  jitterMs: number;
  jitterPackets: number;
  /** Most FLV bytes held before the pipeline attaches its feed. */
  maxHeldBytes: number;
  /** Longest wait (ms, from the offer) for the first video keyframe; a session without one by then is closed. */
  firstVideoTimeoutMs: number;
  log: Logger;
}

/** A WebRTC publisher (WHIP) as a PublishSource. */
export class WhipSession implements PublishSource {
  readonly id = randomUUID();
  readonly remoteAddress: string;
  readonly startedAt = Date.now();
  readonly ended: Promise<string>;
  /**
   * Resolves true once the first video keyframe arrived (the feed starts there, the video's codec and size known),
   * false when the session ended before it. The pipeline is handed the session only then, so its ladder is always
   * planned with the video.
   */
  readonly videoStarted: Promise<boolean>;
  private readonly key: string;
  private readonly options: WhipSessionOptions;
  private readonly log: Logger;
  private readonly pc: RTCPeerConnection;
  private bridge: RtpFlvBridge | null = null;
  private readonly feed: WhipFeed;
  private received = 0;
  private lastPacketAt = Date.now();
  private connected = false;
  private endReason: string | null = null;
  private resolveEnded!: (reason: string) => void;
  private resolveVideoStarted!: (started: boolean) => void;
  private readonly watchdog: NodeJS.Timeout;
  private readonly firstVideoTimer: NodeJS.Timeout;

  constructor(streamKey: string, remoteAddress: string, options: WhipSessionOptions) {
    this.key = streamKey;
    this.remoteAddress = remoteAddress;
    this.options = options;
    this.log = options.log.child(this.id.slice(0, 8));
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.videoStarted = new Promise((resolve) => (this.resolveVideoStarted = resolve));
    this.feed = new WhipFeed({
      maxHeldBytes: options.maxHeldBytes,
      onBadVideoConfig: (message) => this.log.warn("could not read the publisher's H.264 parameters", { error: message }),
    });
    const local = options.publicIp !== null && options.publicIpIsLocal ? [options.publicIp] : undefined;
    this.pc = new RTCPeerConnection({
      codecs: {
        // H.264 first: werift answers in this order, so H.264 is taken whenever offered (the pipeline can copy it).
        // NACK (retransmission) and PLI (keyframe requests) on video; Opus has its own loss concealment.
        video: [useH264({ rtcpFeedback: [useNACK(), usePLI()] }), useVP8({ rtcpFeedback: [useNACK(), usePLI()] })],
        audio: [useOPUS()],
      },
      bundlePolicy: "max-bundle",
      iceServers: [],
      icePortRange: options.portRange,
      iceUseIpv6: false,
      ...(local ? { iceAdditionalHostAddresses: local, iceInterfaceAddresses: { udp4: local[0]! } } : {}),
    });
    // Tracks appear while the offer is applied, before the bridge runs: packets before it are dropped.
    this.pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => {
        this.received += rtp.payload.byteLength;
        this.lastPacketAt = Date.now();
        if (track.kind === "video") this.bridge?.video(rtp);
        else this.bridge?.audio(rtp);
      });
    });
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === "connected") this.connected = true;
      if (state === "failed" || state === "closed") this.close(`peer connection ${state}`);
    });
    this.watchdog = setInterval(() => this.checkSilence(), 500);
    this.watchdog.unref();
    this.firstVideoTimer = setTimeout(() => {
      if (!this.feed.started) this.close(`no video keyframe within ${options.firstVideoTimeoutMs} ms`);
    }, options.firstVideoTimeoutMs);
    this.firstVideoTimer.unref();
  }

  /**
   * Answers the publisher's offer: the answer carries every candidate (no trickle needed). Throws WhipOfferError
   * for an offer the node cannot take (then the session is closed and nothing else was touched).
   */
  async answer(offerSdp: string): Promise<string> {
    try {
      await this.pc.setRemoteDescription({ type: "offer", sdp: offerSdp });
    } catch (err) {
      throw new WhipOfferError(`the SDP offer could not be applied: ${(err as Error).message}`);
    }
    const transceivers = this.pc.getTransceivers();
    const video = transceivers.find((t) => t.kind === "video" && videoCodecOf(t.codecs[0]?.mimeType ?? "") !== null);
    const audio = transceivers.find((t) => t.kind === "audio" && t.codecs[0]?.mimeType.toLowerCase() === "audio/opus");
    if (!video) throw new WhipOfferError("the offer has no H.264 or VP8 video the node can receive");
    for (const t of transceivers) t.direction = t === video || t === audio ? "recvonly" : "inactive";
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    if (this.pc.iceGatheringState !== "complete") {
      await new Promise<void>((resolve) => {
        const sub = this.pc.iceGatheringStateChange.subscribe((state) => {
          if (state === "complete") {
            sub.unSubscribe();
            resolve();
          }
        });
      });
    }
    await this.startBridge(video, audio ?? null);
    const sdp = this.pc.localDescription?.sdp ?? "";
    return this.options.publicIp && !this.options.publicIpIsLocal ? announceCandidates(sdp, this.options.publicIp) : sdp;
  }

  private async startBridge(video: RTCRtpTransceiver, audio: RTCRtpTransceiver | null): Promise<void> {
    const videoCodec = video.codecs[0]!;
    const codec = videoCodecOf(videoCodec.mimeType)!;
    const cadence = new KeyframeCadence({ intervalS: this.options.segmentTarget, clockRate: 90_000 });
    const bridge = await RtpFlvBridge.start({
      ffmpegBinary: this.options.ffmpegBinary,
      video: { codec, payloadType: videoCodec.payloadType },
      audio: audio ? { payloadType: audio.codecs[0]!.payloadType, channels: audio.codecs[0]!.channels ?? 2 } : null,
      segmentTarget: this.options.segmentTarget,
      preset: this.options.preset,
      jitterMs: this.options.jitterMs,
      jitterPackets: this.options.jitterPackets,
      log: this.log,
      onFlv: (chunk) => this.onFlv(chunk),
      onVideoPacket: (rtp) => {
        if (cadence.observe(rtp.header.timestamp, isKeyframePacket(codec, rtp))) void video.receiver.sendRtcpPLI(rtp.header.ssrc).catch(() => {});
      },
    });
    this.bridge = bridge;
    this.log.info("whip bridge started", { video: codec, audio: audio ? "opus" : "none", ffmpeg_pid: bridge.pid ?? null });
    void bridge.exited.then((why) => this.close(this.endReason ?? `the WHIP bridge stopped: ${why}`));
  }

  streamKey(): string {
    return this.key;
  }

  get active(): boolean {
    return this.endReason === null;
  }

  get bytesIn(): number {
    return this.received;
  }

  /** Packets the jitter buffer gave up on (lost even after retransmission requests). */
  get lostPackets(): number {
    return this.bridge?.stats.lostPackets ?? 0;
  }

  source(): SourceInfo {
    return this.feed.source();
  }

  attachFeed(listener: TagListener): void {
    // Also after close: what the bridge wrote before (and while) it stopped belongs to the publish.
    this.feed.attach(listener);
  }

  authorize(): void {}

  close(reason: string): void {
    if (this.endReason !== null) return;
    this.endReason = reason;
    clearInterval(this.watchdog);
    clearTimeout(this.firstVideoTimer);
    this.resolveVideoStarted(false);
    void this.pc.close().catch(() => {});
    // Why the publish ends only after the bridge: its FFmpeg writes the last tags as it exits, and they belong to it.
    const flushed = this.bridge ? this.bridge.close() : Promise.resolve();
    void flushed.then(() => this.resolveEnded(reason));
  }

  private onFlv(chunk: Buffer): void {
    const result = this.feed.push(chunk);
    if (result.kind === "overflow") this.close(`over ${this.options.maxHeldBytes} bytes of media arrived before the pipeline attached`);
    else if (result.kind === "fed" && result.opened) {
      clearTimeout(this.firstVideoTimer);
      const { width, height, fps } = this.feed.source();
      this.log.info("whip video started", { source: `${width}x${height}@${fps ?? "?"}`, dropped_before: this.feed.dropped });
      this.resolveVideoStarted(true);
    }
  }

  private checkSilence(): void {
    const limit = this.connected ? this.options.silenceTimeoutMs : 3 * this.options.silenceTimeoutMs;
    if (Date.now() - this.lastPacketAt > limit) this.close(this.connected ? `silent for ${limit} ms` : `no media within ${limit} ms`);
  }
}

/** An SDP offer the node cannot take (answered 400). */
export class WhipOfferError extends Error {}

/** True for a packet that belongs to a keyframe (an IDR slice or SPS in H.264; a key frame's first packet in VP8). */
function isKeyframePacket(codec: "h264" | "vp8", rtp: RtpPacket): boolean {
  try {
    return codec === "h264" ? H264RtpPayload.deSerialize(rtp.payload).isKeyframe : Vp8RtpPayload.deSerialize(rtp.payload).isKeyframe;
  } catch {
    return false;
  }
}
