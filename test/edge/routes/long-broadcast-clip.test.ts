// A clip of a long broadcast reads only the recording's rows around its range: with 2 renditions x 5,000 recorded
// segments (10,000 rows, as 2.8 hours at 2 s segments), a clip in the middle, by offset and by wall-clock time, takes
// the right segments while the object's SQLite reads a few dozen rows, counted by SQLite itself (cursor.rowsRead); the
// recording's last msn (the end of a broadcast, an older session's content keys) is a few rows too.
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import HLS from "hls-parser";
import type { MasterPlaylist, MediaPlaylist } from "hls-parser/types";
import { describe, expect, it } from "vitest";
import { liveStream } from "../../../edge/src/live/objects/live-stream-stub.ts";
import type { Recording } from "../../../edge/src/live/stores/recording.ts";
import { callJson } from "../api.ts";
import { publish, putInit, putSegment } from "../ingest-client.ts";

interface Clip {
  clip_id: string;
  duration_s: number;
  playback_url: string;
}

/** The first segment's program-date-time as test/edge/ingest-client.ts's segmentMeta dates msn 0; msn n is 2n s later. */
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const RECORDED = 5_000;
const RENDITIONS = ["360p", "240p"];
/** What the range of a clip may read: ~36 rows of the reference rendition (60 s back for the longest segment a
 *  recording can hold, the clip's seconds, a second each side) and each rendition's msns of the clip, with index seeks. */
const MAX_ROWS_READ = 150;

/** The object's recording store, its SQL wrapped so the test sees every cursor it opens. */
type Counted = { recording: Pick<Recording, "lastMsn"> & { sql: SqlStorage }; cursors?: SqlStorageCursor<Record<string, SqlStorageValue>>[] };

async function mediaPlaylists(masterUrl: string): Promise<MediaPlaylist[]> {
  const masterPath = new URL(masterUrl).pathname;
  const master = HLS.parse(await (await exports.default.fetch(new Request(`https://edge.test${masterPath}`))).text()) as MasterPlaylist;
  const out: MediaPlaylist[] = [];
  for (const variant of master.variants) {
    const response = await exports.default.fetch(new Request(new URL(variant.uri, `https://edge.test${masterPath}`)));
    expect(response.status).toBe(200);
    out.push(HLS.parse(await response.text()) as MediaPlaylist);
  }
  return out;
}

/** Rows the recording's SQL read since the last call, as SQLite counts them. */
async function rowsRead(streamId: string): Promise<number> {
  return runInDurableObject(liveStream(env, streamId), (instance) => {
    const target = instance as unknown as Counted;
    const read = (target.cursors ?? []).reduce((sum, cursor) => sum + cursor.rowsRead, 0);
    target.cursors = [];
    return read;
  });
}

describe("a clip of a long broadcast", () => {
  it("reads only the recording's rows around its range, and takes the right segments", async () => {
    const stream = await callJson<{ stream_id: string; stream_key: string }>("POST", "/streams", 201, { body: { title: "long broadcast" } });
    const grant = await publish(stream.stream_key);
    for (const rendition of RENDITIONS) await putInit(stream.stream_id, rendition, grant.epoch);
    for (const rendition of RENDITIONS) await putSegment(stream.stream_id, rendition, grant.epoch, 0);
    const sessionId = await runInDurableObject(liveStream(env, stream.stream_id), (instance, state) => {
      const sql = state.storage.sql;
      const [{ session_id: sessionId }] = sql.exec<{ session_id: string }>("SELECT DISTINCT session_id FROM recorded_segments").toArray() as [
        { session_id: string },
      ];
      // Written straight into the recording (through its indexes), as thousands of uploads would leave it.
      for (let msn = 1; msn < RECORDED; msn++) {
        for (const rendition of RENDITIONS) {
          sql.exec(
            "INSERT INTO recorded_segments (session_id, rendition, msn, epoch, duration, program_date_time) VALUES (?, ?, ?, ?, 2, ?)",
            sessionId,
            rendition,
            msn,
            grant.epoch,
            new Date(T0 + msn * 2_000).toISOString(),
          );
        }
      }
      const target = instance as unknown as Counted;
      const recordingSql = target.recording.sql;
      target.cursors = [];
      target.recording.sql = {
        exec: (query: string, ...bindings: SqlStorageValue[]) => {
          const cursor = recordingSql.exec(query, ...bindings);
          target.cursors!.push(cursor);
          return cursor;
        },
      } as SqlStorage;
      return sessionId;
    });

    // 5,001 s .. 5,011 s from the start: segments 2,500 (5,000-5,002 s) to 2,505 (5,010-5,012 s).
    const byOffset = await callJson<Clip>("POST", `/streams/${stream.stream_id}/clips`, 201, { body: { start_offset: 5_001, duration: 10 } });
    const readByOffset = await rowsRead(stream.stream_id);
    expect(byOffset.duration_s).toBe(12);
    const offsetPlaylists = await mediaPlaylists(byOffset.playback_url);
    expect(offsetPlaylists).toHaveLength(RENDITIONS.length);
    for (const playlist of offsetPlaylists) {
      expect(playlist.segments.map((s) => s.uri.split("/").pop())).toEqual([2500, 2501, 2502, 2503, 2504, 2505].map((msn) => `seg-${msn}.m4s`));
      expect(playlist.segments[0]!.programDateTime?.getTime()).toBe(T0 + 5_000_000);
    }
    expect(readByOffset).toBeGreaterThan(0);
    expect(readByOffset).toBeLessThanOrEqual(MAX_ROWS_READ);

    // 7,201 s .. 7,204 s by the wall clock: segments 3,600 and 3,601.
    const atTime = new Date(T0 + 7_201_000).toISOString();
    const byTime = await callJson<Clip>("POST", `/streams/${stream.stream_id}/clips`, 201, { body: { start_time: atTime, duration: 3 } });
    const readByTime = await rowsRead(stream.stream_id);
    expect(byTime.duration_s).toBe(4);
    for (const playlist of await mediaPlaylists(byTime.playback_url)) {
      expect(playlist.segments.map((s) => s.uri.split("/").pop())).toEqual(["seg-3600.m4s", "seg-3601.m4s"]);
    }
    expect(readByTime).toBeGreaterThan(0);
    expect(readByTime).toBeLessThanOrEqual(MAX_ROWS_READ);

    const last = await runInDurableObject(liveStream(env, stream.stream_id), (instance) => (instance as unknown as Counted).recording.lastMsn(sessionId));
    const readForLast = await rowsRead(stream.stream_id);
    expect(last).toBe(RECORDED - 1);
    // A seek per rendition for its name and one for its last msn.
    expect(readForLast).toBeLessThanOrEqual(10);
    console.log(`rows read: clip by offset ${readByOffset}, by time ${readByTime}, last msn ${readForLast} (of ${RECORDED * RENDITIONS.length} recorded)`);
  });
});
