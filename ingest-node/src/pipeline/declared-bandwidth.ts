// The BANDWIDTH a rendition's init declares to the edge (its master playlist's EXT-X-STREAM-INF), in bit/s.
import type { PlannedRendition } from "../transcode/ladder-plan.ts";

/** Headroom on the publisher's measured rate: a copy's bit rate varies with the picture. */
const COPY_HEADROOM = 1.2;

/**
 * An encoded rung declares its ladder bit rates (audio only when the source has audio); the `source` copy declares
 * what the publisher sent so far (`bytesIn` over `elapsedMs`), with headroom. The edge raises BANDWIDTH further if
 * measured segments exceed it.
 */
export function declaredBandwidth(rendition: PlannedRendition | undefined, hasAudio: boolean, bytesIn: number, elapsedMs: number): number {
  if (rendition?.kind === "encode") return (rendition.videoKbps + (hasAudio ? rendition.audioKbps : 0)) * 1000;
  return Math.round((bytesIn * 8 * COPY_HEADROOM) / Math.max(1, elapsedMs / 1000));
}
