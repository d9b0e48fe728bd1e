// The outbox's rows in the stream object's SQLite (pure rules in outbox.ts). A row is claimed before its step runs:
// the attempt is counted and the row put off by a lease, so an object evicted mid-step leaves a row that simply runs
// again once the lease is over. Finished rows are kept for a while (the status shows them), then pruned.
import type { OutboxRow, OutboxStep } from "../outbox.ts";

/** Finished (done or failed) rows kept for the status; older ones are pruned. */
export const KEPT_FINISHED_ROWS = 20;

type Row = {
  id: number;
  step: string;
  attempts: number;
  next_at: number;
  last_error: string | null;
  state: OutboxRow["state"];
  progress: string | null;
};

function rowOf(row: Row): OutboxRow {
  return {
    id: row.id,
    step: JSON.parse(row.step) as OutboxStep,
    attempts: row.attempts,
    nextAt: row.next_at,
    lastError: row.last_error,
    state: row.state,
    progress: row.progress === null ? null : (JSON.parse(row.progress) as Record<string, unknown>),
  };
}

/** The outbox table of one stream object. */
export class OutboxStore {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS outbox (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      step TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_at INTEGER NOT NULL,
      last_error TEXT,
      state TEXT NOT NULL DEFAULT 'pending',
      progress TEXT,
      created_at INTEGER NOT NULL
    )`);
    sql.exec("CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_at)");
  }

  /** Adds steps, each due at its `at` (or `now`). */
  add(steps: { step: OutboxStep; at: number | null }[], now: number): void {
    for (const { step, at } of steps) this.sql.exec("INSERT INTO outbox (step, next_at, created_at) VALUES (?, ?, ?)", JSON.stringify(step), at ?? now, now);
  }

  /** Up to `limit` pending rows due at `now`, oldest first. */
  due(now: number, limit = 20): OutboxRow[] {
    return this.sql.exec<Row>("SELECT * FROM outbox WHERE state = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?", now, limit).toArray().map(rowOf);
  }

  /** Counts an attempt of row `id` and puts it off until `leaseUntil` (its run's deadline); returns the attempt number. */
  claim(id: number, leaseUntil: number): number {
    return this.sql.exec<{ attempts: number }>("UPDATE outbox SET attempts = attempts + 1, next_at = ? WHERE id = ? RETURNING attempts", leaseUntil, id).one()
      .attempts;
  }

  /** Saves what a step got done so far (a retry picks up from it). */
  saveProgress(id: number, progress: Record<string, unknown>): void {
    this.sql.exec("UPDATE outbox SET progress = ? WHERE id = ?", JSON.stringify(progress), id);
  }

  /** Row `id` is done. */
  done(id: number): void {
    this.sql.exec("UPDATE outbox SET state = 'done', last_error = NULL WHERE id = ?", id);
    this.prune();
  }

  /** Row `id` failed: it runs again at `retryAt`, or (null) is given up. */
  failed(id: number, error: string, retryAt: number | null): void {
    if (retryAt === null) this.sql.exec("UPDATE outbox SET state = 'failed', last_error = ? WHERE id = ?", error, id);
    else this.sql.exec("UPDATE outbox SET last_error = ?, next_at = ? WHERE id = ?", error, retryAt, id);
    if (retryAt === null) this.prune();
  }

  /** When the earliest pending row is due, or null when none is pending. */
  nextDue(): number | null {
    return this.sql.exec<{ at: number | null }>("SELECT MIN(next_at) AS at FROM outbox WHERE state = 'pending'").one().at;
  }

  /** Every pending row and the latest finished ones, oldest first. */
  rows(): OutboxRow[] {
    return this.sql.exec<Row>("SELECT * FROM outbox ORDER BY id").toArray().map(rowOf);
  }

  private prune(): void {
    this.sql.exec(
      "DELETE FROM outbox WHERE state != 'pending' AND id NOT IN (SELECT id FROM outbox WHERE state != 'pending' ORDER BY id DESC LIMIT ?)",
      KEPT_FINISHED_ROWS,
    );
  }
}
