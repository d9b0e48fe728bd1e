// A broadcast's encryption as the live window, the publishing node and on-demand playlists see it, derived from its
// session key (stores/session-keys.ts). Pure: the seed is read and stored by the Durable Object.
import { contentKeyPrefix, keyPeriod } from "../../../protocol/content-keys.ts";
import type { PublishEncryption } from "../../../protocol/ingest.ts";
import type { AssetEncryption } from "../vod/vod-playlist.ts";
import type { SessionKey } from "./session-key.ts";
import type { WindowEncryption } from "./window.ts";

/** The live window's encryption of a session keyed by `key`. */
export function windowEncryption(streamId: string, key: SessionKey): WindowEncryption {
  return { method: "AES-128", sessionId: key.sessionId, rotateEvery: key.rotateEvery, keyUriPrefix: contentKeyPrefix(streamId, key.sessionId) };
}

/** What the publishing node needs to encrypt the window's broadcast (its session seed). */
export function publishEncryption(encryption: WindowEncryption, key: SessionKey | null): PublishEncryption {
  if (!key) throw new Error("the encrypted session has no key seed");
  return {
    method: "AES-128",
    key_seed: btoa(String.fromCharCode(...key.seed)),
    rotate_every: key.rotateEvery,
    key_uri_prefix: encryption.keyUriPrefix,
  };
}

/** The key schedule of a session's media, for on-demand playlists (null when it was not encrypted). */
export function assetEncryption(streamId: string | null, key: SessionKey | null): AssetEncryption | null {
  return key && streamId ? { rotateEvery: key.rotateEvery, keyUriPrefix: contentKeyPrefix(streamId, key.sessionId) } : null;
}

/**
 * Whether content key `period` belongs to the session: from its first msn's key to the key of `lastMsn` (the next msn
 * to come while live, or its last recorded segment once finished).
 */
export function keyInSession(key: SessionKey, period: number, lastMsn: number): boolean {
  if (!Number.isSafeInteger(period)) return false;
  return period >= keyPeriod(key.firstMsn, key.rotateEvery) && period <= keyPeriod(Math.max(lastMsn, key.firstMsn), key.rotateEvery);
}
