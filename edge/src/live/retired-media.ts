// Media objects that left the live window of an unrecorded stream, waiting (in the Durable Object's SQLite) for the
// moment they may be deleted: players behind the live edge may still fetch them for a window's duration.

/** A queue of R2 keys to delete once due. */
export class RetiredMedia {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    sql.exec("CREATE TABLE IF NOT EXISTS retired_media (key TEXT PRIMARY KEY, due INTEGER NOT NULL)");
  }

  /** Schedules `keys` for deletion at `due` (ms since the epoch). */
  retire(keys: string[], due: number): void {
    for (const key of keys) this.sql.exec("INSERT OR IGNORE INTO retired_media (key, due) VALUES (?, ?)", key, due);
  }

  /** Up to `limit` keys due at `now`. */
  dueKeys(now: number, limit = 1000): string[] {
    return this.sql.exec<{ key: string }>("SELECT key FROM retired_media WHERE due <= ? ORDER BY due LIMIT ?", now, limit).toArray().map((row) => row.key);
  }

  /** Forgets deleted keys. */
  forget(keys: string[]): void {
    for (const key of keys) this.sql.exec("DELETE FROM retired_media WHERE key = ?", key);
  }
}
