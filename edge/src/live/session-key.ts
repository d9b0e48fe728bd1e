// One encrypted broadcast session's key material. Plain data, in its own module so the pure encryption helpers
// (live-encryption.ts) do not depend on the Durable Object's SQL storage.

/** One encrypted broadcast session's key material and schedule. */
export interface SessionKey {
  sessionId: string;
  /** 32 random bytes; a secret. */
  seed: Uint8Array;
  /** Segments per content key. */
  rotateEvery: number;
  /** The first media sequence number of the session (its first key is keyPeriod(firstMsn)). */
  firstMsn: number;
}
