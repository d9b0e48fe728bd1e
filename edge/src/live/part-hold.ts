// A stream's object holding a request for a hinted part until the part is committed, refused, or three part targets
// have passed (the rule is hinted-part.ts; the waiting is the blocked playlist requests' own, and counts toward their cap).
import { type PartAddress, evaluatePartRequest } from "./hinted-part.ts";
import { type PlaylistAnswer, problemAnswer, tooManyHeldAnswer } from "./playlist-answer.ts";
import type { PlaylistWaiters } from "./playlist-waiters.ts";
import type { LiveWindowState } from "./window.ts";

/** The 200 of a part request: R2 holds the part now (the Worker reads and serves it). */
export const PART_READY: PlaylistAnswer = { status: 200, body: "", headers: {} };

/**
 * Waits until the part at `address` is committed (200), will never come (404), or its time ran out (503 with
 * Retry-After). `window` is read afresh at each look: the stream may end, be deleted or start a new broadcast meanwhile.
 * Past `maxHeld` requests held by `waiters`, a request that would wait is answered 503 at once.
 */
export async function holdForPart(
  window: () => LiveWindowState | null,
  address: PartAddress,
  waiters: PlaylistWaiters,
  maxHeld: number,
): Promise<PlaylistAnswer> {
  let deadline: number | null = null;
  for (;;) {
    const decision = evaluatePartRequest(window(), address);
    if (decision.kind === "ready") return PART_READY;
    if (decision.kind === "gone") return problemAnswer(404, `Media object was not found: ${decision.detail}.`);
    const now = Date.now();
    deadline ??= now + decision.timeoutMs;
    if (now >= deadline) return problemAnswer(503, "The hinted part did not arrive in time; retry.", { "retry-after": "1" });
    if (waiters.size >= maxHeld) return tooManyHeldAnswer();
    // Woken on every committed part (and every window change); a wake-up that changes nothing for this part waits on.
    await waiters.wait(() => evaluatePartRequest(window(), address).kind !== "wait", deadline - now);
  }
}
