// The stream's health history in its Durable Object's SQLite: a ring bounded by age and count (health-history.ts).
import { type HealthSample, ringBounds } from "../health-history.ts";

/** A stream's health samples, the newest kept, the oldest dropped as new ones arrive. */
export class HealthSamples {
  private readonly sql: SqlStorage;
  private readonly maxSamples: number;

  constructor(sql: SqlStorage, maxSamples: number) {
    this.sql = sql;
    this.maxSamples = maxSamples;
    // seq numbers samples in arrival order (two heartbeats may share a millisecond).
    sql.exec("CREATE TABLE IF NOT EXISTS health_samples (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, sample TEXT NOT NULL)");
  }

  /** Adds `sample` and drops what the bounds no longer keep. */
  add(sample: HealthSample): void {
    const [row] = this.sql
      .exec<{ seq: number }>("INSERT INTO health_samples (at, sample) VALUES (?, ?) RETURNING seq", sample.at, JSON.stringify(sample))
      .toArray();
    const { minAt, minSeq } = ringBounds(sample.at, row!.seq, this.maxSamples);
    this.sql.exec("DELETE FROM health_samples WHERE seq < ? OR at < ?", minSeq, minAt);
  }

  /** The samples from `since` (ms since the epoch) on, oldest first. */
  since(since: number): HealthSample[] {
    return this.sql
      .exec<{ sample: string }>("SELECT sample FROM health_samples WHERE at >= ? ORDER BY seq", since)
      .toArray()
      .map((row) => JSON.parse(row.sample) as HealthSample);
  }
}
