// The recording of a stream's broadcasts, kept in the Durable Object's own SQLite: every listed segment of every
// rendition, so a VOD or a clip can name all of them long after they left the live window.
import type { RecordedSegment, RecordingCursor } from "../../vod/recorded-segment.ts";
import type { RangeSource } from "../../vod/vod-playlist.ts";
import type { HistorySource } from "../dvr-history.ts";

export type { RecordedSegment };

type Row = { rendition: string; msn: number; epoch: number; duration: number; program_date_time: string };

const COLUMNS = "rendition, msn, epoch, duration, program_date_time";

/** A time in ms as SQLite's julianday() gives it (days since noon, 24 November 4714 BC), what the time index holds. */
function julianDay(ms: number): number {
  return ms / 86_400_000 + 2_440_587.5;
}

/** Widening of a time range read through the index: julianday() is a float, and its rounding must not lose a row. */
const TIME_SLACK_MS = 1_000;

function segmentOf(row: Row): RecordedSegment {
  return { rendition: row.rendition, msn: row.msn, epoch: row.epoch, duration: row.duration, programDateTime: row.program_date_time };
}

/** Recording of segments per broadcast session, on the Durable Object's SQL storage. */
export class Recording {
  private readonly sql: SqlStorage;
  /** The last epochSecondsBefore answer (recorded rows before a listed segment never change). */
  private lastSecondsBefore: { sessionId: string; rendition: string; epoch: number; msn: number; seconds: number } | null = null;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS recorded_segments (
      session_id TEXT NOT NULL,
      rendition TEXT NOT NULL,
      msn INTEGER NOT NULL,
      epoch INTEGER NOT NULL,
      duration REAL NOT NULL,
      program_date_time TEXT NOT NULL,
      PRIMARY KEY (session_id, rendition, msn)
    )`);
    // A clip's range is found by time (rangeSource), on the date the segment's text names; made for recordings kept
    // before it existed the first time their object starts (SQLite reads the table once to build it).
    sql.exec("CREATE INDEX IF NOT EXISTS recorded_segments_time ON recorded_segments (session_id, rendition, julianday(program_date_time))");
  }

  /** Records a segment (idempotent: the same msn twice keeps the first). */
  add(sessionId: string, segment: RecordedSegment): void {
    this.sql.exec(
      "INSERT OR IGNORE INTO recorded_segments (session_id, rendition, msn, epoch, duration, program_date_time) VALUES (?, ?, ?, ?, ?, ?)",
      sessionId,
      segment.rendition,
      segment.msn,
      segment.epoch,
      segment.duration,
      segment.programDateTime,
    );
  }

  /** At most `limit` recorded segments of a session after `after`, by rendition then msn (the primary key's order). */
  page(sessionId: string, after: RecordingCursor, limit: number): RecordedSegment[] {
    const rows = after
      ? this.sql.exec<Row>(
          "SELECT rendition, msn, epoch, duration, program_date_time FROM recorded_segments WHERE session_id = ? AND (rendition, msn) > (?, ?) ORDER BY rendition, msn LIMIT ?",
          sessionId,
          after.rendition,
          after.msn,
          limit,
        )
      : this.sql.exec<Row>(
          "SELECT rendition, msn, epoch, duration, program_date_time FROM recorded_segments WHERE session_id = ? ORDER BY rendition, msn LIMIT ?",
          sessionId,
          limit,
        );
    return rows.toArray().map(segmentOf);
  }

  /** The publish epoch that produced a recorded segment, or null when it was never recorded. */
  epochOf(sessionId: string, rendition: string, msn: number): number | null {
    const row = this.sql
      .exec<{ epoch: number }>("SELECT epoch FROM recorded_segments WHERE session_id = ? AND rendition = ? AND msn = ?", sessionId, rendition, msn)
      .toArray()[0];
    return row?.epoch ?? null;
  }

  /**
   * Seconds of publish `epoch`'s recorded media of `rendition` before `msn` (where a storyboard's tile clock stands).
   * Asked again with the window's next first segment, it sums only the rows between: a four-hour DVR window's
   * storyboard would otherwise read thousands of rows on every request.
   */
  epochSecondsBefore(sessionId: string, rendition: string, epoch: number, msn: number): number {
    const last = this.lastSecondsBefore;
    const from = last && last.sessionId === sessionId && last.rendition === rendition && last.epoch === epoch && last.msn <= msn ? last : null;
    const row = this.sql
      .exec<{ seconds: number | null }>(
        "SELECT SUM(duration) AS seconds FROM recorded_segments WHERE session_id = ? AND rendition = ? AND msn >= ? AND msn < ? AND epoch = ?",
        sessionId,
        rendition,
        from?.msn ?? 0,
        msn,
        epoch,
      )
      .toArray()[0];
    const seconds = (from?.seconds ?? 0) + (row?.seconds ?? 0);
    this.lastSecondsBefore = { sessionId, rendition, epoch, msn, seconds };
    return seconds;
  }

  /** The highest recorded media sequence number of a session, or null when it recorded nothing. */
  lastMsn(sessionId: string): number | null {
    // Per rendition, a seek to the end of its primary key each: MAX(msn) over the session would read all its rows.
    let last: number | null = null;
    for (const rendition of this.renditions(sessionId)) {
      const row = this.sql
        .exec<{ last: number | null }>("SELECT MAX(msn) AS last FROM recorded_segments WHERE session_id = ? AND rendition = ?", sessionId, rendition)
        .toArray()[0];
      if (row?.last != null) last = Math.max(last ?? row.last, row.last);
    }
    return last;
  }

  /** The renditions a session recorded, in name order: a primary-key seek each, not a scan of the session's rows. */
  private renditions(sessionId: string): string[] {
    const names: string[] = [];
    for (;;) {
      const after = names[names.length - 1];
      const row = (
        after === undefined
          ? this.sql.exec<{ rendition: string }>("SELECT rendition FROM recorded_segments WHERE session_id = ? ORDER BY rendition LIMIT 1", sessionId)
          : this.sql.exec<{ rendition: string }>(
              "SELECT rendition FROM recorded_segments WHERE session_id = ? AND rendition > ? ORDER BY rendition LIMIT 1",
              sessionId,
              after,
            )
      ).toArray()[0];
      if (!row) return names;
      names.push(row.rendition);
    }
  }

  /** The recording of session `sessionId` as the DVR history reads it (dvr-history.ts), one rendition at a time. */
  historySource(sessionId: string): HistorySource {
    const sql = this.sql;
    return {
      range: (rendition, from, to) =>
        sql
          .exec<Row>(
            "SELECT rendition, msn, epoch, duration, program_date_time FROM recorded_segments WHERE session_id = ? AND rendition = ? AND msn >= ? AND msn < ? ORDER BY msn",
            sessionId,
            rendition,
            from,
            to,
          )
          .toArray()
          .map(segmentOf),
      before: (rendition, msn) => {
        const row = sql
          .exec<Row>(
            "SELECT rendition, msn, epoch, duration, program_date_time FROM recorded_segments WHERE session_id = ? AND rendition = ? AND msn < ? ORDER BY msn DESC LIMIT 1",
            sessionId,
            rendition,
            msn,
          )
          .toArray()[0];
        return row ? segmentOf(row) : null;
      },
      firstMsn: (rendition) =>
        sql
          .exec<{ first: number | null }>("SELECT MIN(msn) AS first FROM recorded_segments WHERE session_id = ? AND rendition = ?", sessionId, rendition)
          .toArray()[0]?.first ?? null,
      epochCount: (rendition, from, to) =>
        sql
          .exec<{ epochs: number }>(
            "SELECT COUNT(DISTINCT epoch) AS epochs FROM recorded_segments WHERE session_id = ? AND rendition = ? AND msn >= ? AND msn < ?",
            sessionId,
            rendition,
            from,
            to,
          )
          .toArray()[0]?.epochs ?? 0,
    };
  }

  /**
   * The recording of session `sessionId` as a clip's range reads it (vod-playlist.ts rangeOf): a few indexed rows
   * around the range, never the whole recording.
   */
  rangeSource(sessionId: string): RangeSource {
    const sql = this.sql;
    const one = (query: string, ...bindings: (string | number)[]) => {
      const row = sql.exec<Row>(query, sessionId, ...bindings).toArray()[0];
      return row ? segmentOf(row) : null;
    };
    return {
      first: (rendition) => one(`SELECT ${COLUMNS} FROM recorded_segments WHERE session_id = ? AND rendition = ? ORDER BY msn LIMIT 1`, rendition),
      firstOfAny: () => one(`SELECT ${COLUMNS} FROM recorded_segments WHERE session_id = ? ORDER BY rendition, msn LIMIT 1`),
      startingWithin: (rendition, fromMs, toMs) =>
        sql
          .exec<Row>(
            `SELECT ${COLUMNS} FROM recorded_segments WHERE session_id = ? AND rendition = ? AND julianday(program_date_time) BETWEEN ? AND ? ORDER BY msn`,
            sessionId,
            rendition,
            julianDay(fromMs - TIME_SLACK_MS),
            julianDay(toMs + TIME_SLACK_MS),
          )
          .toArray()
          .map(segmentOf),
      msnsWithin: (from, to) => {
        const segments: RecordedSegment[] = [];
        // One rendition after another by the primary key (a seek each), not a scan of the session for those msns.
        for (const rendition of this.renditions(sessionId)) {
          const rows = sql.exec<Row>(
            `SELECT ${COLUMNS} FROM recorded_segments WHERE session_id = ? AND rendition = ? AND msn >= ? AND msn <= ? ORDER BY msn`,
            sessionId,
            rendition,
            from,
            to,
          );
          segments.push(...rows.toArray().map(segmentOf));
        }
        return segments;
      },
    };
  }

  /** Forgets a session's recording (after its media was deleted). */
  forget(sessionId: string): void {
    this.sql.exec("DELETE FROM recorded_segments WHERE session_id = ?", sessionId);
  }
}
