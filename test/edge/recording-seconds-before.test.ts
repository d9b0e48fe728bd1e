// Where a DVR storyboard's tile clock stands (Recording.epochSecondsBefore): the seconds an epoch recorded before the
// window's first segment. With 5,000 recorded segments the first answer reads the rows before it once; as the window
// slides, the next answers read only the rows between, counted by SQLite itself (cursor.rowsRead), and stay exact.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { liveStream } from "../../edge/src/live/objects/live-stream-stub.ts";
import { Recording } from "../../edge/src/live/stores/recording.ts";

const SESSION = "seconds-before-session";
/** msn 0..999 recorded by epoch 1, 1,000..4,999 by epoch 2 (a reconnect), 2 s each. */
const RECORDED = 5_000;
const RECONNECT_AT = 1_000;

describe("Recording.epochSecondsBefore", () => {
  it("sums an epoch's seconds before a segment, and reads only the new rows as the window slides", async () => {
    await runInDurableObject(liveStream(env, "recording-seconds-before"), (_instance, state) => {
      const sql = state.storage.sql;
      const cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
      const recording = new Recording({
        exec: (query: string, ...bindings: SqlStorageValue[]) => {
          const cursor = sql.exec(query, ...bindings);
          cursors.push(cursor);
          return cursor;
        },
      } as SqlStorage);
      for (let msn = 0; msn < RECORDED; msn++) {
        const epoch = msn < RECONNECT_AT ? 1 : 2;
        recording.add(SESSION, { rendition: "360p", msn, epoch, duration: 2, programDateTime: new Date(Date.UTC(2026, 11, 7) + msn * 2_000).toISOString() });
      }
      const rowsRead = () => cursors.splice(0).reduce((sum, cursor) => sum + cursor.rowsRead, 0);
      rowsRead();

      expect(recording.epochSecondsBefore(SESSION, "360p", 2, 4_000)).toBe(6_000);
      expect(rowsRead()).toBeGreaterThanOrEqual(4_000);
      // The window moved on by three segments: three rows.
      expect(recording.epochSecondsBefore(SESSION, "360p", 2, 4_003)).toBe(6_006);
      expect(rowsRead()).toBeLessThanOrEqual(4);
      expect(recording.epochSecondsBefore(SESSION, "360p", 2, 4_003)).toBe(6_006);
      expect(rowsRead()).toBeLessThanOrEqual(1);
      // Another epoch, a rendition or an earlier segment is summed afresh, and still right.
      expect(recording.epochSecondsBefore(SESSION, "360p", 1, 500)).toBe(1_000);
      expect(recording.epochSecondsBefore(SESSION, "240p", 2, 4_003)).toBe(0);
      expect(recording.epochSecondsBefore(SESSION, "360p", 2, 1_500)).toBe(1_000);
      expect(recording.epochSecondsBefore(SESSION, "360p", 2, 4_010)).toBe(6_020);
    });
  });
});
