// The WHIP server hands a session to the pipeline only once its video started: a peer that never sends a keyframe is
// closed at the first-video bound and only then given to the pipeline (to release the grant, with no media).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MediaStreamTrack, RTCPeerConnection, useH264, useOPUS } from "werift";
import type { PublishResponse } from "../../../../protocol/ingest.ts";
import type { Logger } from "../../../../ingest-node/src/log.ts";
import type { PublishSource } from "../../../../ingest-node/src/publish/publish-source.ts";
import { WhipServer } from "../../../../ingest-node/src/whip/whip-server.ts";

const STREAM_ID = "0b8f2a4e-1c7d-4e2a-9a57-3f1d2b6c8e90";
const FIRST_VIDEO_TIMEOUT_MS = 600;

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet } as unknown as Logger;

describe("WhipServer", () => {
  const accepted: Array<{ at: number; source: PublishSource }> = [];
  let server: WhipServer;
  let port: number;

  beforeAll(async () => {
    server = new WhipServer(
      {
        host: "127.0.0.1",
        port: 0,
        maxSessions: 2,
        maxOfferBytes: 64 * 1024,
        log: quiet,
        session: {
          ffmpegBinary: process.env.FFMPEG_PATH ?? "ffmpeg",
          portRange: [47000, 47099],
          publicIp: null,
          publicIpIsLocal: false,
          preset: "ultrafast",
          silenceTimeoutMs: 5_000,
          jitterMs: 200,
          jitterPackets: 100,
          maxHeldBytes: 1 << 20,
          firstVideoTimeoutMs: FIRST_VIDEO_TIMEOUT_MS,
        },
      },
      {
        requestPublish: async () => ({ ok: true, grant: { stream_id: STREAM_ID, segment_target: 2, epoch: 1 } as PublishResponse }),
        acceptPublish: async (source) => {
          accepted.push({ at: Date.now(), source });
        },
      },
    );
    port = await server.listen();
  });

  afterAll(async () => {
    await server.close();
  });

  it("gives the pipeline no session before its first video keyframe, and closes one that sends none in time", async () => {
    const pc = new RTCPeerConnection({ iceServers: [], iceUseIpv6: false, codecs: { video: [useH264()], audio: [useOPUS()] } });
    pc.addTransceiver(new MediaStreamTrack({ kind: "video" }), { direction: "sendonly" });
    pc.addTransceiver(new MediaStreamTrack({ kind: "audio" }), { direction: "sendonly" });
    await pc.setLocalDescription(await pc.createOffer());
    try {
      const response = await fetch(`http://127.0.0.1:${port}/whip/${STREAM_ID}`, {
        method: "POST",
        headers: { authorization: "Bearer key", "content-type": "application/sdp" },
        body: pc.localDescription!.sdp,
      });
      expect(response.status).toBe(201);
      const answeredAt = Date.now();
      // The peer never connects, so no video comes: the pipeline must not have the session yet.
      await new Promise((resolve) => setTimeout(resolve, FIRST_VIDEO_TIMEOUT_MS / 2));
      expect(accepted).toEqual([]);
      expect(server.sessionCount).toBe(1);
      await expect.poll(() => accepted.length, { timeout: 5_000 }).toBe(1);
      const [{ at, source }] = accepted as [{ at: number; source: PublishSource }];
      expect(at - answeredAt).toBeGreaterThanOrEqual(FIRST_VIDEO_TIMEOUT_MS / 2);
      // Handed over closed and without video: the pipeline releases the grant and plans nothing.
      expect(source.active).toBe(false);
      expect(source.source().videoCodec).toBeNull();
      await expect(source.ended).resolves.toBe(`no video keyframe within ${FIRST_VIDEO_TIMEOUT_MS} ms`);
      await expect.poll(() => server.sessionCount).toBe(0);
    } finally {
      await pc.close();
    }
  });
});
