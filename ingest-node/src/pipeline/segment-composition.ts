// Whether a publish's segments go up as `from_parts` (the edge builds each from the LL-HLS parts it already holds).
import { EDGE_FEATURES, type PublishResponse } from "../../../protocol/ingest.ts";

/**
 * True when the edge offers to build segments from parts (an older edge does not: it would store an empty segment),
 * the stream has parts at all (interactive), and its media is clear (encrypted parts are sealed one by one, so their
 * concatenation is not the sealed segment).
 */
export function composesSegmentsFromParts(grant: Pick<PublishResponse, "latency_mode" | "encryption" | "edge_features">): boolean {
  return grant.latency_mode === "interactive" && grant.encryption === null && (grant.edge_features ?? []).includes(EDGE_FEATURES.composeSegments);
}
