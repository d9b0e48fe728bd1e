// Go live from a browser tab over WHIP (RFC 9725): camera and microphone -> RTCPeerConnection -> POST the offer to
// the stream's `whip_url` with its stream key -> apply the answer. Stopping sends DELETE to the session URL.

/** Options of a browser publish. */
export interface WhipPublishOptions {
  /** The stream's `whip_url`. */
  url: string;
  /** The stream key (sent as the bearer token; never put it in a URL). */
  streamKey: string;
  /** Media to send; by default the camera and microphone (getUserMedia with `constraints`). */
  stream?: MediaStream;
  constraints?: MediaStreamConstraints;
  /**
   * `h264` (default): H.264 offered first, which the node takes whenever offered (it can copy it into the `source`
   * rendition); `vp8`: VP8 alone, for a browser whose H.264 encoder is poor (the node encodes it).
   */
  videoCodec?: "h264" | "vp8";
  /** Longest wait for ICE candidates before the offer is sent anyway (the node does not take trickled ones). */
  iceGatheringTimeoutMs?: number;
}

/** A live browser publish. */
export interface WhipPublish {
  /** What is sent (show it in a <video> as the preview). */
  stream: MediaStream;
  /** The session URL the node answered (DELETE ends the publish). */
  sessionUrl: string;
  connection: RTCPeerConnection;
  /** Ends the publish: DELETE, close the connection, release camera and microphone (when this module opened them). */
  stop(): Promise<void>;
}

/** A WHIP request the node refused: 401 wrong key, 409 already live elsewhere, 400 offer, 503 node busy. */
export class WhipPublishError extends Error {
  readonly status: number;
  constructor(status: number, detail: string) {
    super(`WHIP publish refused (${status}): ${detail}`);
    this.status = status;
  }
}

/** The camera and microphone at 720p30, what the default ladder starts from. */
const DEFAULT_CONSTRAINTS: MediaStreamConstraints = { video: { width: 1280, height: 720, frameRate: 30 }, audio: true };

/** Publishes `stream` (or the camera and microphone) to `url`; resolves once the node answered. */
export async function publishWhip(options: WhipPublishOptions): Promise<WhipPublish> {
  const ownsMedia = !options.stream;
  const stream = options.stream ?? (await navigator.mediaDevices.getUserMedia(options.constraints ?? DEFAULT_CONSTRAINTS));
  const connection = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  const release = () => {
    connection.close();
    if (ownsMedia) for (const track of stream.getTracks()) track.stop();
  };
  try {
    for (const track of stream.getTracks()) {
      const transceiver = connection.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      if (track.kind === "video") chooseVideoCodec(transceiver, options.videoCodec ?? "h264");
    }
    await connection.setLocalDescription(await connection.createOffer());
    await iceGatheringComplete(connection, options.iceGatheringTimeoutMs ?? 2_000);
    const response = await fetch(options.url, {
      method: "POST",
      headers: { authorization: `Bearer ${options.streamKey}`, "content-type": "application/sdp" },
      body: connection.localDescription?.sdp ?? "",
    });
    const body = await response.text();
    if (response.status !== 201) throw new WhipPublishError(response.status, problemDetail(body));
    const location = response.headers.get("location");
    if (!location) throw new WhipPublishError(response.status, "the answer has no Location header");
    const sessionUrl = new URL(location, options.url).toString();
    await connection.setRemoteDescription({ type: "answer", sdp: body });
    let stopped = false;
    return {
      stream,
      sessionUrl,
      connection,
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          // keepalive: the DELETE still goes out when the page is being closed.
          await fetch(sessionUrl, { method: "DELETE", headers: { authorization: `Bearer ${options.streamKey}` }, keepalive: true });
        } finally {
          release();
        }
      },
    };
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * H.264 first (its packetization-mode 1 profiles, the ones the node takes), or VP8 alone with its retransmission
 * codec. Why H.264 by default: the node copies it into the `source` rendition, while VP8 (Chromium's own first
 * choice) is encoded again.
 */
function chooseVideoCodec(transceiver: RTCRtpTransceiver, codec: "h264" | "vp8"): void {
  const codecs = RTCRtpSender.getCapabilities?.("video")?.codecs;
  if (!codecs || typeof transceiver.setCodecPreferences !== "function") return;
  const mime = (c: RTCRtpCodec) => c.mimeType.toLowerCase();
  if (codec === "vp8") {
    transceiver.setCodecPreferences(codecs.filter((c) => mime(c) === "video/vp8" || mime(c) === "video/rtx"));
    return;
  }
  const rank = (c: RTCRtpCodec) => (mime(c) !== "video/h264" ? 2 : /packetization-mode=1/.test(c.sdpFmtpLine ?? "") ? 0 : 1);
  transceiver.setCodecPreferences([...codecs].sort((a, b) => rank(a) - rank(b)));
}

/** Resolves when ICE gathering is complete, or after `timeoutMs` (what was gathered by then is sent). */
function iceGatheringComplete(connection: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (connection.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      connection.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => {
      if (connection.iceGatheringState === "complete") done();
    };
    const timer = setTimeout(done, timeoutMs);
    connection.addEventListener("icegatheringstatechange", check);
  });
}

/** The `detail` of a problem+json body, else the body's start. */
function problemDetail(body: string): string {
  try {
    const parsed = JSON.parse(body) as { detail?: unknown };
    if (typeof parsed.detail === "string") return parsed.detail;
  } catch {
    // not JSON
  }
  return body.slice(0, 200);
}
