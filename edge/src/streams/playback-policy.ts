// What playback needs to know about a stream before it touches anything else: whether it exists, its playback policy
// ("public" | "signed") and its media generation. Read on every playlist and media request, so it is remembered per
// isolate for a few seconds instead of asking D1 each time — an unknown stream id is answered 404 from here, before any
// Durable Object or R2 call.
import { eq, sql } from "drizzle-orm";
import { database } from "../db/client.ts";
import { streams } from "../db/schema.ts";
import type { PlaybackPolicy } from "./stream-input.ts";
import { findStream } from "./stream-repository.ts";
import { streamSettings } from "./stream-view.ts";

/**
 * How long an isolate trusts what it read. A change made through this isolate applies at once (`forget`); other
 * isolates see it within this many seconds. Tokens are checked whenever the policy says "signed", so a stream turned
 * public keeps accepting them, and one turned signed refuses unsigned requests everywhere after this delay. A deleted
 * stream (or a deleted VOD's or clip's media) stops playing everywhere within the same delay.
 */
export const POLICY_TTL_MS = 10_000;

/** What playback knows about an existing stream. */
export interface PlaybackRecord {
  policy: PlaybackPolicy;
  /**
   * Part of every media cache key: bumped when media of the stream is deleted (a VOD or clip), so what the Cache API
   * kept of it is never answered again. The Cache API purges only exact keys and only in one location; a new key
   * leaves the old entries to expire unseen.
   */
  mediaGeneration: number;
}

const remembered = new Map<string, { record: PlaybackRecord | null; until: number }>();
const MAX_REMEMBERED = 10_000;

/** What playback knows about `streamId`, or null when there is no such stream (remembered too, as briefly). */
export async function playbackRecord(env: Env, streamId: string, now: number = Date.now()): Promise<PlaybackRecord | null> {
  const hit = remembered.get(streamId);
  if (hit && hit.until > now) return hit.record;
  const row = await findStream(database(env), streamId);
  let record: PlaybackRecord | null = null;
  if (row) record = { policy: streamSettings(row).playback_policy ?? "public", mediaGeneration: row.mediaGeneration };
  if (remembered.size >= MAX_REMEMBERED) remembered.clear();
  remembered.set(streamId, { record, until: now + POLICY_TTL_MS });
  return record;
}

/** The policy of `streamId`, or null for a stream that does not exist. */
export async function playbackPolicy(env: Env, streamId: string, now: number = Date.now()): Promise<PlaybackPolicy | null> {
  return (await playbackRecord(env, streamId, now))?.policy ?? null;
}

/** Drops what this isolate remembers about `streamId` (after a PATCH or DELETE). */
export function forgetPlaybackPolicy(streamId: string): void {
  remembered.delete(streamId);
}

/**
 * Retires every media cache entry of `streamId` (after some of its media was deleted): one D1 update that increments
 * the column in SQL, so no concurrent write of the row (a PATCH of its settings) can put an older generation back.
 */
export async function bumpMediaGeneration(env: Env, streamId: string): Promise<void> {
  await database(env)
    .update(streams)
    .set({ mediaGeneration: sql`${streams.mediaGeneration} + 1` })
    .where(eq(streams.id, streamId));
  forgetPlaybackPolicy(streamId);
}
