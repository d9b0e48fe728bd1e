import { describe, expect, it } from "vitest";
import { assetEncryption, keyInSession, publishEncryption, windowEncryption } from "../../../../edge/src/live/live-encryption.ts";
import type { SessionKey } from "../../../../edge/src/live/session-key.ts";

const STREAM = "8c0c8e9e-3b7a-4d0e-9a52-2f3f3c2d1e0f";
const SESSION = "0b7d1c4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e";
const KEY: SessionKey = { sessionId: SESSION, seed: new Uint8Array(32).fill(7), rotateEvery: 10, firstMsn: 25 };

describe("live encryption", () => {
  it("names the same key URI prefix for the live window and on-demand playlists", () => {
    const window = windowEncryption(STREAM, KEY);
    expect(window).toEqual({ method: "AES-128", sessionId: SESSION, rotateEvery: 10, keyUriPrefix: `/live/${STREAM}/keys/${SESSION}/` });
    expect(assetEncryption(STREAM, KEY)).toEqual({ rotateEvery: 10, keyUriPrefix: window.keyUriPrefix });
    expect(assetEncryption(STREAM, null)).toBeNull();
    expect(assetEncryption(null, KEY)).toBeNull();
  });

  it("hands the node the seed in base64, and refuses an encrypted window without one", () => {
    const window = windowEncryption(STREAM, KEY);
    expect(publishEncryption(window, KEY)).toEqual({
      method: "AES-128",
      key_seed: btoa("\x07".repeat(32)),
      rotate_every: 10,
      key_uri_prefix: window.keyUriPrefix,
    });
    expect(() => publishEncryption(window, null)).toThrow(/no key seed/);
  });

  it("serves only the keys from the session's first msn to its last", () => {
    // msns 25..47: periods 2..4.
    expect([1, 2, 4, 5].map((period) => keyInSession(KEY, period, 47))).toEqual([false, true, true, false]);
    // Nothing past the first msn yet: only its period.
    expect([2, 3].map((period) => keyInSession(KEY, period, 0))).toEqual([true, false]);
    expect(keyInSession(KEY, Number.NaN, 47)).toBe(false);
    expect(keyInSession(KEY, 2.5, 47)).toBe(false);
  });
});
