// Media objects that left the live window of an unrecorded stream, waiting (in the Durable Object's SQLite) for the
// moment they may be deleted: players behind the live edge may still fetch them for a window's duration (which
// objects, and when: media-retirement.ts).
import { addressOfKey, type MediaAddress, mediaKey } from "../../storage/media.ts";
import type { MediaStore } from "../../storage/media-store.ts";

/** A queue of media objects to delete once due (each row names one by its storage key). */
export class RetiredMedia {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    sql.exec("CREATE TABLE IF NOT EXISTS retired_media (key TEXT PRIMARY KEY, due INTEGER NOT NULL)");
  }

  /** Schedules `addresses` for deletion at `due` (ms since the epoch). */
  retire(addresses: MediaAddress[], due: number): void {
    for (const address of addresses) this.sql.exec("INSERT OR IGNORE INTO retired_media (key, due) VALUES (?, ?)", mediaKey(address), due);
  }

  /** Up to `limit` keys due at `now`. */
  dueKeys(now: number, limit = 1000): string[] {
    return this.sql
      .exec<{ key: string }>("SELECT key FROM retired_media WHERE due <= ? ORDER BY due LIMIT ?", now, limit)
      .toArray()
      .map((row) => row.key);
  }

  /** Deletes (from `store`) and forgets the objects due at `now`. */
  async deleteDue(store: MediaStore, now: number): Promise<void> {
    const keys = this.dueKeys(now);
    if (keys.length === 0) return;
    await store.deleteMedia(keys.map(addressOfKey).filter((address) => address !== null));
    this.forget(keys);
  }

  /** Forgets deleted keys. */
  forget(keys: string[]): void {
    for (const key of keys) this.sql.exec("DELETE FROM retired_media WHERE key = ?", key);
  }
}
