// What a WHIP publish negotiates and how its RTP becomes FLV: codecs offered, the local FFmpeg's SDP and arguments.

/** Video codecs a WHIP publisher may send: H.264 is copied when it can be, VP8 is always encoded to H.264. */
export type WhipVideoCodec = "h264" | "vp8";

/** One negotiated RTP stream as the local FFmpeg reads it. */
export interface RtpInput {
  /** The negotiated payload type. */
  payloadType: number;
  /** 127.0.0.1 port FFmpeg listens on for it (its RTCP port is the next one). */
  port: number;
}

/** The negotiated media of one WHIP session. */
export interface WhipMedia {
  video: RtpInput & { codec: WhipVideoCodec };
  /** Opus, or null for a publisher that sends no audio. */
  audio: (RtpInput & { channels: number }) | null;
}

/** The codec a negotiated video MIME type stands for, or null when the node does not take it. */
export function videoCodecOf(mimeType: string): WhipVideoCodec | null {
  const name = mimeType.toLowerCase();
  if (name === "video/h264") return "h264";
  if (name === "video/vp8") return "vp8";
  return null;
}

/** True when an SDP offer has at least one video section that offers H.264 or VP8 (else the node answers 400). */
export function offerHasUsableVideo(sdp: string): boolean {
  const sections = sdp.split(/\r?\nm=/).slice(1);
  return sections.some((section) => section.startsWith("video") && /a=rtpmap:\d+ (H264|VP8)\/90000/i.test(section));
}

/**
 * The SDP FFmpeg reads to receive the session's RTP on loopback. Why H.264 needs only packetization-mode: browsers
 * and OBS send SPS/PPS in band before every keyframe, so no sprop-parameter-sets are needed.
 */
export function rtpInputSdp(media: WhipMedia): string {
  const lines = ["v=0", "o=- 0 0 IN IP4 127.0.0.1", "s=edgecast whip", "c=IN IP4 127.0.0.1", "t=0 0"];
  const { video, audio } = media;
  lines.push(`m=video ${video.port} RTP/AVP ${video.payloadType}`);
  if (video.codec === "h264") {
    lines.push(`a=rtpmap:${video.payloadType} H264/90000`, `a=fmtp:${video.payloadType} packetization-mode=1`);
  } else {
    lines.push(`a=rtpmap:${video.payloadType} VP8/90000`);
  }
  if (audio) lines.push(`m=audio ${audio.port} RTP/AVP ${audio.payloadType}`, `a=rtpmap:${audio.payloadType} opus/48000/${audio.channels}`);
  return `${lines.join("\r\n")}\r\n`;
}

/** Options of the local FFmpeg that turns a session's RTP into the FLV feed every pipeline reads. */
export interface BridgeArgsOptions {
  media: WhipMedia;
  /** The stream's segment target (s): VP8 encoded to H.264 gets a keyframe at each. */
  segmentTarget: number;
  /** x264 preset for VP8 sources. */
  preset: string;
}

/**
 * FFmpeg arguments: the SDP on stdin, FLV on stdout. H.264 is copied (the node asks the publisher for a keyframe at
 * every segment target, so the pipeline can copy it again into the `source` rendition); VP8 has no FLV mapping and
 * is encoded to H.264 at high quality (the ladder encodes it once more). Opus becomes AAC, which FLV and HLS carry.
 */
export function bridgeArgs(options: BridgeArgsOptions): string[] {
  const { media } = options;
  const args = ["-hide_banner", "-nostats", "-loglevel", "error"];
  // FFmpeg needs the first keyframe (SPS/PPS come in band with it) before it writes anything. A browser sends one
  // right after the node's first request; OBS at its own keyframe interval, so the probe may take that long.
  args.push("-protocol_whitelist", "pipe,udp,rtp", "-analyzeduration", "5000000", "-probesize", "5000000");
  // The node already reordered the packets (jitter buffer); FFmpeg's own reorder queue is a second, small net.
  args.push("-reorder_queue_size", "64", "-f", "sdp", "-i", "pipe:0", "-map", "0:v:0");
  if (media.audio) args.push("-map", "0:a:0");
  if (media.video.codec === "h264") args.push("-c:v", "copy");
  else {
    args.push("-c:v", "libx264", "-preset", options.preset, "-tune", "zerolatency", "-crf", "18", "-pix_fmt", "yuv420p");
    args.push("-force_key_frames", `expr:gte(t,n_forced*${options.segmentTarget})`, "-sc_threshold", "0");
  }
  if (media.audio) args.push("-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2");
  args.push("-f", "flv", "-flvflags", "no_duration_filesize", "pipe:1");
  return args;
}

/**
 * Rewrites the answer's IPv4 candidates (and connection lines) to `publicIp`, for a node behind a 1:1 NAT: it listens
 * on its private address, publishers reach it at the public one. Candidates that then repeat (one per interface on
 * the same port) are dropped.
 */
export function announceCandidates(sdp: string, publicIp: string): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of sdp.split(/\r?\n/)) {
    const candidate = /^(a=candidate:\S+ \d+ \S+ \d+ )(\d{1,3}(?:\.\d{1,3}){3})( (\d+) typ .*)$/i.exec(line);
    if (candidate) {
      const rewritten = `${candidate[1]}${publicIp}${candidate[3]}`;
      const key = `${publicIp}:${candidate[4]}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(rewritten);
    } else if (/^c=IN IP4 /.test(line)) out.push(`c=IN IP4 ${publicIp}`);
    else out.push(line);
  }
  return out.join("\r\n");
}
