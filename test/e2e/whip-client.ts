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
    body: pc.localDescription!.sdp,
  });
  const body = await response.text();
  if (response.status !== 201) {
    await pc.close();
    throw new WhipClientError(response.status, body);
  }
  const sessionUrl = new URL(response.headers.get("location") ?? "", options.url).toString();
  await pc.setRemoteDescription({ type: "answer", sdp: body });
  const sockets: Socket[] = [];
  const listen = async (onPacket: (packet: Buffer) => void): Promise<number> => {
    const socket = createSocket("udp4");
    sockets.push(socket);
    socket.on("message", onPacket);
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
    return socket.address().port;
  };
  const videoPort = await listen((packet) => video.writeRtp(packet));
  const audioPort = await listen((packet) => audio.writeRtp(packet));
  const gop = Math.round(30 * (options.keyframeIntervalS ?? 2));
  // The wall clock is burned in, as in the other tests' publisher, so a player's latency can be read off a frame.
  const ffmpeg: ChildProcess = spawn(
    process.env.FFMPEG_PATH ?? "ffmpeg",
    [
      ...["-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"],
      ...["-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"],
      ...["-map", "0:v", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-profile:v", "baseline", "-pix_fmt", "yuv420p"],
      ...["-g", String(gop), "-keyint_min", String(gop), "-sc_threshold", "0", "-b:v", "1M"],
      ...["-payload_type", "96", "-f", "rtp", `rtp://127.0.0.1:${videoPort}?pkt_size=1200`],
      ...["-map", "1:a", "-c:a", "libopus", "-ac", "2", "-b:a", "64k", "-payload_type", "111", "-f", "rtp", `rtp://127.0.0.1:${audioPort}?pkt_size=1200`],
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  let stopped = false;
  return {
    sessionUrl,
    answerSdp: body,
    async stop(stopOptions = {}) {
      if (stopped) return null;
      stopped = true;
      let status: number | null = null;
      if (!stopOptions.withoutDelete) {
        const deleted = await fetch(sessionUrl, { method: "DELETE", headers: { authorization: `Bearer ${options.streamKey}` } });
        status = deleted.status;
      }
      ffmpeg.kill("SIGKILL");
      for (const socket of sockets) socket.close();
      await pc.close();
      return status;
    },
  };
}

/** A WHIP POST that was not answered 201. */
export class WhipClientError extends Error {
  readonly status: number;
  constructor(status: number, body: string) {
    super(`WHIP POST answered ${status}: ${body.slice(0, 200)}`);
    this.status = status;
  }
}
