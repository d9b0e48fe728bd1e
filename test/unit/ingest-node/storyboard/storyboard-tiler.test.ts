// Storyboard tiles from the node's long-lived FFmpeg: each thumbnail (landscape or portrait) gives a 160x96 tile at
// once, all from one process and all fit to share a sheet; bytes that are no JPEG never reach FFmpeg; and a
// publish's storyboard made of real tiles uploads sheets FFmpeg decodes at the sheet's size.
import { execFileSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import type { StoryboardSheetMeta } from "../../../../protocol/ingest.ts";
import { DEFAULT_STORYBOARD_GRID } from "../../../../protocol/storyboard.ts";
import type { Logger } from "../../../../ingest-node/src/log.ts";
import { assembleTiles } from "../../../../ingest-node/src/storyboard/jpeg-sprite.ts";
import type { JpegTile } from "../../../../ingest-node/src/storyboard/jpeg-tile.ts";
import { StoryboardSheets } from "../../../../ingest-node/src/storyboard/storyboard-sheets.ts";
import { StoryboardTiler, storyboardTileArgs } from "../../../../ingest-node/src/storyboard/storyboard-tiler.ts";

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet } as unknown as Logger;

/** A thumbnail of testsrc2's frame `n` at `size`, as the node's thumbnails are (baseline JPEG, 4:2:0). */
const thumbnail = (n: number, size = "640x360"): Buffer =>
  execFileSync("ffmpeg", [
    ...["-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", `testsrc2=size=${size}:rate=1`, "-vf", `select=eq(n\\,${n})`],
    ...["-frames:v", "1", "-q:v", "3", "-f", "image2pipe", "pipe:1"],
  ]);

/** Width and height FFmpeg decodes `jpeg` at. */
function decodedSize(jpeg: Uint8Array): { width: number; height: number } {
  const out = execFileSync(
    "ffprobe",
    ["-v", "error", "-f", "image2pipe", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "json", "pipe:0"],
    { input: jpeg },
  );
  const stream = (JSON.parse(out.toString("utf8")) as { streams: { width: number; height: number }[] }).streams[0]!;
  return { width: stream.width, height: stream.height };
}

const tilers: StoryboardTiler[] = [];
afterAll(() => {
  for (const tiler of tilers) tiler.close();
});

function tiler(): StoryboardTiler {
  const t = new StoryboardTiler("ffmpeg");
  tilers.push(t);
  return t;
}

describe("StoryboardTiler", () => {
  const wide = [thumbnail(0), thumbnail(1), thumbnail(2)];
  const tall = thumbnail(3, "360x640");

  it("asks FFmpeg for one restart interval per MCU row, in slice threads only, from a multipart stream", () => {
    const args = storyboardTileArgs(DEFAULT_STORYBOARD_GRID);
    expect(args.slice(args.indexOf("-f"), args.indexOf("-f") + 2)).toEqual(["-f", "mpjpeg"]);
    expect(args.slice(args.indexOf("-slices"), args.indexOf("-slices") + 2)).toEqual(["-slices", "6"]);
    expect(args.slice(args.indexOf("-thread_type"), args.indexOf("-thread_type") + 4)).toEqual(["-thread_type", "slice", "-threads", "6"]);
  });

  it("makes each tile as soon as its thumbnail is in, all from one FFmpeg and all fit for one sheet", async () => {
    const t = tiler();
    t.start();
    const tiles: JpegTile[] = [];
    // One at a time, each awaited before the next is written: a picture held until the next input would time out.
    for (const jpeg of [...wide, tall, wide[0]!]) tiles.push(await t.tile(jpeg));
    expect(t.starts).toBe(1);
    for (const tile of tiles) {
      expect(tile).toMatchObject({ width: 160, height: 96, restartInterval: 10 });
      expect(decodedSize(tile.jpeg)).toEqual({ width: 160, height: 96 });
    }
    // The same thumbnail gives the same tile.
    expect(Buffer.compare(tiles[0]!.jpeg, tiles[4]!.jpeg)).toBe(0);
    expect(decodedSize(assembleTiles(tiles, DEFAULT_STORYBOARD_GRID))).toEqual({ width: 800, height: 480 });
  });

  it("holds at most maxQueued thumbnails waiting: one more is refused at once, the ones held all become tiles", async () => {
    const t = new StoryboardTiler("ffmpeg", { maxQueued: 2 });
    tilers.push(t);
    // One in flight and two waiting.
    const held = [t.tile(wide[0]!), t.tile(wide[1]!), t.tile(wide[2]!)];
    await expect(t.tile(tall)).rejects.toThrow(/2 pictures already wait/);
    for (const tile of await Promise.all(held)) expect(tile).toMatchObject({ width: 160, height: 96 });
  });

  it("refuses bytes that are no JPEG without FFmpeg, and goes on with the next thumbnail", async () => {
    const t = tiler();
    await expect(t.tile(new Uint8Array([1, 2, 3]))).rejects.toThrow(/not a JPEG/);
    expect(t.starts).toBe(0);
    expect((await t.tile(wide[1]!)).segments).toHaveLength(6);
  });

  it("feeds a publish's storyboard: the sheets it uploads decode at the sheet's size", async () => {
    const t = tiler();
    const sent: { meta: StoryboardSheetMeta; jpeg: Uint8Array }[] = [];
    const board = new StoryboardSheets({
      intervalS: 10,
      log: quiet,
      tile: (jpeg) => t.tile(jpeg),
      compose: assembleTiles,
      upload: async (meta, jpeg) => {
        sent.push({ meta, jpeg });
      },
    });
    for (const jpeg of [...wide, new Uint8Array([9]), tall]) board.add(1, jpeg);
    await board.settled();
    const last = sent.at(-1)!;
    expect(last.meta).toMatchObject({ sheet: 0, tiles: 5, tile_width: 160, tile_height: 96, columns: 5, rows: 5 });
    expect(decodedSize(last.jpeg)).toEqual({ width: 800, height: 480 });
  });
});
