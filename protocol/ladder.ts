// The adaptive-bitrate ladder: what renditions an ingest node encodes.
import { z } from "zod";
import { RENDITION_PATTERN } from "./names.ts";

/** One rung of the ladder: an encoded rendition (the `source` rung is a copy and has no bitrates). */
export const RungSchema = z.object({
  name: z.string().regex(RENDITION_PATTERN),
  height: z.number().int().min(90).max(4320),
  videoKbps: z.number().int().min(50).max(50_000),
  audioKbps: z.number().int().min(16).max(512),
});

/** One rung of the ladder. */
export type Rung = z.infer<typeof RungSchema>;

/** The default ladder: 1080p/720p/480p/360p, capped at the source's height by the node. */
export const DEFAULT_LADDER: Rung[] = [
  { name: "1080p", height: 1080, videoKbps: 5000, audioKbps: 128 },
  { name: "720p", height: 720, videoKbps: 2800, audioKbps: 128 },
  { name: "480p", height: 480, videoKbps: 1400, audioKbps: 96 },
  { name: "360p", height: 360, videoKbps: 800, audioKbps: 96 },
];

/** A small ladder that a 2-core machine encodes in real time beside the tests. */
export const TEST_LADDER: Rung[] = [
  { name: "360p", height: 360, videoKbps: 600, audioKbps: 64 },
  { name: "240p", height: 240, videoKbps: 350, audioKbps: 64 },
  { name: "160p", height: 160, videoKbps: 200, audioKbps: 48 },
];
