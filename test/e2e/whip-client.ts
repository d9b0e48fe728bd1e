// A WHIP publisher that is not a browser: werift in the test process sends what an FFmpeg encodes (H.264 + Opus over
// RTP to loopback), as OBS's WHIP output would. Optionally through a lossy relay (every Nth packet dropped).
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { MediaStreamTrack, RTCPeerConnection, useH264, useNACK, useOPUS, usePLI } from "werift";

/** A running WHIP publish. */
export interface WhipClient {
  /** The session URL (absolute) the server answered in Location. */
  sessionUrl: string;
  /** The answer's status (201) and the publish's answer SDP. */
  answerSdp: string;
  /** When FFmpeg, the encoder, was started (ms since the epoch): the first frame leaves about then. */
  startedAt: number;
  /** Media packets the relay dropped (0 without one). */
  dropped(): number;
  /** Ends the publish: DELETE on the session URL, then stops FFmpeg and the peer connection. */
  stop(options?: { withoutDelete?: boolean }): Promise<number | null>;
}

/** Options of a WHIP publish from the test process. */
export interface WhipClientOptions {
  /** The stream's WHIP URL. */
  url: string;
  streamKey: string;
  /** Seconds between the encoder's keyframes (like OBS's fixed keyframe interval). */
  keyframeIntervalS?: number;
  /** Video bitrate in kbit/s (default 1000). */
  videoKbps?: number;
  /** Sends through a UDP relay that drops every `lossEvery`-th media packet on the way to the node (50: 2 %). */
  lossEvery?: number;
  /**
   * When the encoder starts: at the answer (default; like OBS, whose first keyframe is then lost while DTLS is set up,
   * so video begins a keyframe interval after audio) or once the peer connection is connected (like a browser).
   */
  startEncoder?: "answered" | "connected";
}

/** The clients' FFmpeg encoders still running: killed when the test process exits, so a failed test leaves none. */
const running = new Set<ChildProcess>();
process.once("exit", () => killWhipEncoders());

/** Kills every client's FFmpeg encoder still running (a test's afterAll: the test process may outlive its file). */
export function killWhipEncoders(): void {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
}

/** POSTs an offer to `url` and starts sending the test pattern; throws with the status on anything but 201. */
export async function startWhipClient(options: WhipClientOptions): Promise<WhipClient> {
  const pc = new RTCPeerConnection({
    bundlePolicy: "max-bundle",
    iceServers: [],
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceInterfaceAddresses: { udp4: "127.0.0.1" },
    codecs: { video: [useH264({ rtcpFeedback: [useNACK(), usePLI()] })], audio: [useOPUS()] },
  });
  const video = new MediaStreamTrack({ kind: "video" });
  const audio = new MediaStreamTrack({ kind: "audio" });
  pc.addTransceiver(video, { direction: "sendonly" });
  pc.addTransceiver(audio, { direction: "sendonly" });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise<void>((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.iceGatheringStateChange.subscribe((state) => state === "complete" && resolve());
  });
  const response = await fetch(options.url, {
    method: "POST",
    headers: { authorization: `Bearer ${options.streamKey}`, "content-type": "application/sdp" },
    // Behind the relay the node must not learn the client's own candidates: its checks would find the direct path.
    body: options.lossEvery ? withUnreachableCandidates(pc.localDescription!.sdp) : pc.localDescription!.sdp,
  });
  const body = await response.text();
  if (response.status !== 201) {
    await pc.close();
    throw new WhipClientError(response.status, body);
  }
  const sessionUrl = new URL(response.headers.get("location") ?? "", options.url).toString();
  const sockets: Socket[] = [];
  const relay = options.lossEvery ? await lossyRelay(body, options.lossEvery) : null;
  if (relay) sockets.push(relay.socket);
  await pc.setRemoteDescription({ type: "answer", sdp: relay?.answer ?? body });
  const listen = async (onPacket: (packet: Buffer) => void): Promise<number> => {
    const socket = createSocket("udp4");
    sockets.push(socket);
    socket.on("message", onPacket);
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
    return socket.address().port;
  };
  const videoPort = await listen((packet) => video.writeRtp(packet));
  const audioPort = await listen((packet) => audio.writeRtp(packet));
  if (options.startEncoder === "connected") await connected(pc, 10_000);
  const gop = Math.round(30 * (options.keyframeIntervalS ?? 2));
  // The wall clock is burned in, as in the other tests' publisher, so a player's latency can be read off a frame.
  const startedAt = Date.now();
  const ffmpeg: ChildProcess = spawn(
    process.env.FFMPEG_PATH ?? "ffmpeg",
    [
      ...["-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"],
      ...["-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"],
      ...["-map", "0:v", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-profile:v", "baseline", "-pix_fmt", "yuv420p"],
      ...["-g", String(gop), "-keyint_min", String(gop), "-sc_threshold", "0", "-b:v", `${options.videoKbps ?? 1000}k`],
      ...["-payload_type", "96", "-f", "rtp", `rtp://127.0.0.1:${videoPort}?pkt_size=1200`],
      ...["-map", "1:a", "-c:a", "libopus", "-ac", "2", "-b:a", "64k", "-payload_type", "111", "-f", "rtp", `rtp://127.0.0.1:${audioPort}?pkt_size=1200`],
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  running.add(ffmpeg);
  ffmpeg.once("exit", () => running.delete(ffmpeg));
  let stopped = false;
  return {
    sessionUrl,
    answerSdp: body,
    startedAt,
    dropped: () => relay?.dropped() ?? 0,
    async stop(stopOptions = {}) {
      if (stopped) return null;
      stopped = true;
      try {
        if (stopOptions.withoutDelete) return null;
        const deleted = await fetch(sessionUrl, { method: "DELETE", headers: { authorization: `Bearer ${options.streamKey}` } });
        return deleted.status;
      } finally {
        // Also when the DELETE failed (the node is down in some fault cases): an FFmpeg left behind outlives the test.
        ffmpeg.kill("SIGKILL");
        running.delete(ffmpeg);
        for (const socket of sockets) socket.close();
        await pc.close();
      }
    },
  };
}

/** Resolves once the peer connection is connected (ICE and DTLS done); throws after `timeoutMs`. */
async function connected(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.connectionState === "connected") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the WHIP peer connection was not connected within ${timeoutMs} ms`)), timeoutMs);
    const sub = pc.connectionStateChange.subscribe((state) => {
      if (state !== "connected") return;
      clearTimeout(timer);
      sub.unSubscribe();
      resolve();
    });
  });
}

/** A WHIP POST that was not answered 201. */
export class WhipClientError extends Error {
  readonly status: number;
  constructor(status: number, body: string) {
    super(`WHIP POST answered ${status}: ${body.slice(0, 200)}`);
    this.status = status;
  }
}

/**
 * A UDP relay between the client and the node's first candidate: the answer is rewritten to name only the relay.
 * Every `lossEvery`-th SRTP media packet toward the node is dropped (never STUN or DTLS, so the connection is set up
 * as it would be; RTCP passes, so NACKs and their retransmissions work as on a real lossy uplink).
 */
async function lossyRelay(answer: string, lossEvery: number): Promise<{ socket: Socket; answer: string; dropped: () => number }> {
  const candidate = /^a=candidate:\S+ 1 udp \d+ (\d{1,3}(?:\.\d{1,3}){3}) (\d+) typ host.*$/m.exec(answer);
  if (!candidate) throw new Error("the answer has no IPv4 host candidate to relay to");
  const node = { address: candidate[1]!, port: Number(candidate[2]) };
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  const relayPort = socket.address().port;
  let client: { address: string; port: number } | null = null;
  let media = 0;
  let dropped = 0;
  socket.on("message", (packet, from) => {
    // The node may answer from another local address than its candidate's (a loopback path): its port tells.
    if (from.port === node.port && (from.address === node.address || from.address.startsWith("127."))) {
      if (client) socket.send(packet, client.port, client.address);
      return;
    }
    client = { address: from.address, port: from.port };
    // RTP (not RTCP: payload types 72-76 with the marker bit, i.e. second byte 200-204) starts with version 2.
    const isRtp = packet.length > 12 && packet[0]! >> 6 === 2 && !(packet[1]! >= 200 && packet[1]! <= 204);
    if (isRtp && ++media % lossEvery === 0) {
      dropped++;
      return;
    }
    socket.send(packet, node.port, node.address);
  });
  const lines = answer.split("\r\n").filter((line) => !line.startsWith("a=candidate:") || line === candidate[0]);
  const rewritten = lines.map((line) => (line === candidate[0] ? line.replace(`${node.address} ${node.port}`, `127.0.0.1 ${relayPort}`) : line));
  return { socket, answer: rewritten.join("\r\n"), dropped: () => dropped };
}

/** The SDP with every candidate pointed at the discard port: the node's own checks go nowhere. */
function withUnreachableCandidates(sdp: string): string {
  return sdp.replace(/^(a=candidate:\S+ \d+ udp \d+ )\S+ \d+ /gm, "$1127.0.0.1 9 ");
}
