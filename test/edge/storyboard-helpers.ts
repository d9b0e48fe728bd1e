// Storyboard steps shared by the edge tests of the live and the VOD track: uploading a fake node's sprite sheets and
// checking a track as a player would (cues covering the timeline, every sheet served, every rectangle inside it).
import { expect } from "vitest";
import type { StoryboardSheetMeta } from "../../protocol/ingest.ts";
import { ingestPaths } from "../../protocol/ingest-paths.ts";
import { ingest } from "./ingest-client.ts";
import { jpegSize, parseThumbnailVtt, syntheticJpeg, type ThumbnailCue } from "./storyboard-check.ts";

/** 2×2 tiles of 160×90 per sheet (a 320×180 image), one tile every 4 s of media. */
export const TEST_GRID = { interval_s: 4, tile_width: 160, tile_height: 90, columns: 2, rows: 2 };

/** Uploads sheet `meta.sheet` of `streamId` (or to sheet `path`), by default a 320×180 JPEG. */
export function putSheet(streamId: string, meta: StoryboardSheetMeta, body = syntheticJpeg(320, 180, meta.tiles), path = meta.sheet): Promise<Response> {
  return ingest("PUT", ingestPaths.storyboardSheet(streamId, path), { meta, body });
}

/** Uploads tiles first..last (publish-wide indexes) of `epoch` as the node does: the sheet again after each tile. */
export async function uploadTiles(streamId: string, epoch: number, first: number, last: number): Promise<void> {
  for (let k = first; k <= last; k++) {
    const response = await putSheet(streamId, { epoch, sheet: Math.floor(k / 4), tiles: (k % 4) + 1, ...TEST_GRID });
    expect(response.status, await response.text()).toBe(204);
  }
}

/**
 * The cues of the track `vtt` read from `trackPath`, checked as a player would: from 0 to `duration` s without gaps,
 * and each sheet they name served (through `get`) as a JPEG holding each of its rectangles.
 */
export async function checkCues(vtt: string, trackPath: string, duration: number, get: (path: string) => Promise<Response>): Promise<ThumbnailCue[]> {
  const cues = parseThumbnailVtt(vtt);
  expect(cues[0]!.start).toBe(0);
  for (let i = 1; i < cues.length; i++) expect(cues[i]!.start).toBeCloseTo(cues[i - 1]!.end, 3);
  expect(cues.at(-1)!.end).toBeCloseTo(duration, 3);
  for (const uri of new Set(cues.map((cue) => cue.uri))) {
    const url = new URL(uri, `https://edge.test${trackPath}`);
    const sheet = await get(url.pathname + url.search);
    expect(sheet.status, uri).toBe(200);
    expect(sheet.headers.get("content-type")).toBe("image/jpeg");
    const size = jpegSize(new Uint8Array(await sheet.arrayBuffer()));
    for (const cue of cues.filter((c) => c.uri === uri)) {
      expect(cue.x + cue.width).toBeLessThanOrEqual(size.width);
      expect(cue.y + cue.height).toBeLessThanOrEqual(size.height);
    }
  }
  return cues;
}
