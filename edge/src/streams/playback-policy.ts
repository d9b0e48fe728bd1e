// A stream's playback policy ("public" | "signed") as playback reads it: on every playlist and media request, so it
// is remembered per isolate for a few seconds instead of asking D1 each time.
import { database } from "../db/client.ts";
import type { PlaybackPolicy } from "./stream-input.ts";
import { findStream } from "./stream-repository.ts";
import { streamSettings } from "./stream-view.ts";

/**
 * How long an isolate trusts a policy it read. A change made through this isolate applies at once (`forget`); other
 * isolates see it within this many seconds. Tokens are checked whenever the policy says "signed", so a stream turned
 * public keeps accepting them, and one turned signed refuses unsigned requests everywhere after this delay.
 */
export const POLICY_TTL_MS = 10_000;

const remembered = new Map<string, { policy: PlaybackPolicy; until: number }>();
const MAX_REMEMBERED = 10_000;

/** The policy of `streamId`; "public" for a stream that does not exist (playback answers 404 for it anyway). */
export async function playbackPolicy(env: Env, streamId: string, now: number = Date.now()): Promise<PlaybackPolicy> {
  const hit = remembered.get(streamId);
  if (hit && hit.until > now) return hit.policy;
  const row = await findStream(database(env), streamId);
  const policy = row ? (streamSettings(row).playback_policy ?? "public") : "public";
  if (remembered.size >= MAX_REMEMBERED) remembered.clear();
  remembered.set(streamId, { policy, until: now + POLICY_TTL_MS });
  return policy;
}

/** Drops what this isolate remembers about `streamId` (after a PATCH or DELETE). */
export function forgetPlaybackPolicy(streamId: string): void {
  remembered.delete(streamId);
}
