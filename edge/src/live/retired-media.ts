// Media objects that left the live window of an unrecorded stream, waiting (in the Durable Object's SQLite) for the
// moment they may be deleted: players behind the live edge may still fetch them for a window's duration.
import { mediaFile, mediaKey } from "../storage/media.ts";
import type { MediaRef } from "./window.ts";

/** R2 keys of window evictions; `epochOf` finds a segment's publish epoch (null when it was never recorded). */
export function retiredKeys(refs: MediaRef[], streamId: string, epochOf: (rendition: string, msn: number) => number | null): string[] {
  const keys: string[] = [];
  for (const ref of refs) {
    const epoch = ref.kind === "init" ? ref.epoch : epochOf(ref.rendition, ref.msn);
    // Parts of a segment that never completed were never recorded: the end-of-broadcast cleanup takes them.
    if (epoch === null) continue;
    const file = ref.kind === "init" ? mediaFile.init() : ref.kind === "segment" ? mediaFile.segment(ref.msn) : mediaFile.part(ref.msn, ref.part);
    keys.push(mediaKey({ streamId, rendition: ref.rendition, epoch, file }));
  }
  return keys;
}

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
    return this.sql
      .exec<{ key: string }>("SELECT key FROM retired_media WHERE due <= ? ORDER BY due LIMIT ?", now, limit)
      .toArray()
      .map((row) => row.key);
  }

  /** Deletes (from `bucket`) and forgets the keys due at `now`. */
  async deleteDue(bucket: R2Bucket, now: number): Promise<void> {
    const keys = this.dueKeys(now);
    if (keys.length === 0) return;
    await bucket.delete(keys);
    this.forget(keys);
  }

  /** Forgets deleted keys. */
  forget(keys: string[]): void {
    for (const key of keys) this.sql.exec("DELETE FROM retired_media WHERE key = ?", key);
  }
}
