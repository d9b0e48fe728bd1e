// Starts the node's WHIP endpoint from its settings: what ingest-node.ts calls, so the node file holds only the wiring.
import { networkInterfaces } from "node:os";
import type { WhipSettings } from "../config.ts";
import type { Logger } from "../log.ts";
import { type WhipPublisher, WhipServer } from "./whip-server.ts";

/** Largest SDP offer taken (browsers send 4-8 KB; OBS less). */
const MAX_OFFER_BYTES = 64 * 1024;
/** Most packets a jitter buffer holds (a second of 8 Mbit/s video is ~700). */
const JITTER_PACKETS = 2_000;
/** FLV bytes a session holds before its pipeline attaches (it attaches right after the grant). */
const MAX_HELD_BYTES = 8 * 1024 * 1024;

/** A started WHIP endpoint and the base URL publishers use. */
export interface WhipListener {
  server: WhipServer;
  port: number;
  /** `<base>`; a stream's WHIP URL is `<base>/whip/<stream id>`. */
  publicUrl: string;
}

/** Starts the WHIP listener. */
export async function startWhipListener(
  settings: WhipSettings,
  deps: { ffmpegBinary: string; preset: string; silenceTimeoutMs: number; log: Logger; publisher: WhipPublisher },
): Promise<WhipListener> {
  const server = new WhipServer(
    {
      host: settings.host,
      port: settings.port,
      maxSessions: settings.maxSessions,
      maxOfferBytes: MAX_OFFER_BYTES,
      session: {
        ffmpegBinary: deps.ffmpegBinary,
        portRange: settings.portRange,
        publicIp: settings.publicIp,
        publicIpIsLocal: settings.publicIp !== null && isLocalAddress(settings.publicIp),
        preset: deps.preset,
        silenceTimeoutMs: deps.silenceTimeoutMs,
        jitterMs: settings.jitterMs,
        firstVideoTimeoutMs: settings.firstVideoTimeoutMs,
        jitterPackets: JITTER_PACKETS,
        maxHeldBytes: MAX_HELD_BYTES,
      },
      log: deps.log,
    },
    deps.publisher,
  );
  const port = await server.listen();
  const host = settings.host === "0.0.0.0" ? (settings.publicIp ?? "127.0.0.1") : settings.host;
  return { server, port, publicUrl: settings.publicUrl ?? `http://${host}:${port}` };
}

/** True for loopback or an address of one of this machine's interfaces. */
function isLocalAddress(ip: string): boolean {
  if (ip.startsWith("127.")) return true;
  return Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === ip));
}
