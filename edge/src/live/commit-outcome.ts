// How the live window's verdict on an upload's metadata is answered to the ingest node. Pure.
import { type IngestResult, refuse } from "./ingest-result.ts";
import type { ApplyOutcome } from "./window.ts";

/** The refusal of an upload the window would not take, or null when it is answered OK (duplicates and stale ones too). */
export function commitRefusal(outcome: ApplyOutcome): Exclude<IngestResult, { ok: true }> | null {
  switch (outcome) {
    case "unknown-rendition":
    case "unknown-epoch":
      // Not a 409: that status means "fenced" to a node, and this is a missing init, not a lost lease.
      return refuse(400, "init_required", "Upload this rendition's init segment for this epoch first.");
    case "not-ll":
      return refuse(400, "bad_request", "This stream's latency mode has no LL-HLS parts.");
    case "too-far":
      return refuse(400, "bad_request", "This media sequence number is too far ahead of the live window.");
    case "ended":
      return refuse(409, "conflict", "The broadcast has ended.");
    default:
      return null;
  }
}
