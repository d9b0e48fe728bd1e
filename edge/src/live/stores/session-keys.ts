// The key seeds of a stream's encrypted broadcasts, kept only in the LiveStream Durable Object's own SQLite (beside
// the recording): never in R2, D1 or a log. Content keys are derived from a seed on demand (protocol/content-keys.ts).
import { SEED_BYTES } from "../../../../protocol/content-keys.ts";
import type { SessionKey } from "../session-key.ts";

export type { SessionKey };

/** Session seeds on the Durable Object's SQL storage. */
export class SessionKeys {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS session_keys (
      session_id TEXT PRIMARY KEY,
      seed BLOB NOT NULL,
      rotate_every INTEGER NOT NULL,
      first_msn INTEGER NOT NULL,
      created_at TEXT NOT NULL
    )`);
  }

  /** The session's key material, created with a fresh random seed on first use (later calls return the same). */
  create(sessionId: string, rotateEvery: number, firstMsn: number): SessionKey {
    const seed = crypto.getRandomValues(new Uint8Array(SEED_BYTES));
    this.sql.exec(
      "INSERT OR IGNORE INTO session_keys (session_id, seed, rotate_every, first_msn, created_at) VALUES (?, ?, ?, ?, ?)",
      sessionId,
      seed.buffer,
      rotateEvery,
      firstMsn,
      new Date().toISOString(),
    );
    const stored = this.get(sessionId);
    if (!stored) throw new Error("session key was not stored");
    return stored;
  }

  /** The session's key material, or null for a session that was not encrypted (or is unknown). */
  get(sessionId: string): SessionKey | null {
    const row = this.sql
      .exec<{ seed: ArrayBuffer; rotate_every: number; first_msn: number }>(
        "SELECT seed, rotate_every, first_msn FROM session_keys WHERE session_id = ?",
        sessionId,
      )
      .toArray()[0];
    if (!row) return null;
    return { sessionId, seed: new Uint8Array(row.seed), rotateEvery: row.rotate_every, firstMsn: row.first_msn };
  }

  /** Forgets a session's seed (its media is gone: nothing left to decrypt). */
  forget(sessionId: string): void {
    this.sql.exec("DELETE FROM session_keys WHERE session_id = ?", sessionId);
  }
}
