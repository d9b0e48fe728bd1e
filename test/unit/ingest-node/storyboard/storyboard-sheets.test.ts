// A publish's storyboard with a fake tiler, drawer and uploader: each thumbnail re-sends its sheet with one tile more,
// a sheet rolls over after columns × rows tiles, a tile that could not be made leaves its place black without moving
// the others, tiles still being made are waited for, a failed upload is repaired by the next tile before any later
// sheet, a refusal stops the publish's storyboard, a new epoch starts over, and the bound on sheets held is reached.
import { describe, expect, it } from "vitest";
import type { StoryboardSheetMeta } from "../../../../protocol/ingest.ts";
import type { StoryboardGrid } from "../../../../protocol/storyboard.ts";
import type { Logger } from "../../../../ingest-node/src/log.ts";
import type { JpegTile } from "../../../../ingest-node/src/storyboard/jpeg-tile.ts";
import { MAX_PENDING_SHEETS, StoryboardRefusedError, StoryboardSheets } from "../../../../ingest-node/src/storyboard/storyboard-sheets.ts";

const GRID: StoryboardGrid = { tileWidth: 160, tileHeight: 90, columns: 2, rows: 2 };
const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet } as unknown as Logger;

/** A stand-in tile that only says which thumbnail it is of. */
const fakeTile = (thumbnail: Uint8Array) => ({ header: thumbnail }) as unknown as JpegTile;

/** A fake storyboard: a thumbnail [k] becomes a tile of k (a tile maker may be given), a sheet draws each place's k (-1 for black). */
function harness(fail: (meta: StoryboardSheetMeta) => Error | null = () => null, tile = async (thumbnail: Uint8Array) => fakeTile(thumbnail)) {
  const sent: { sheet: number; tiles: number; epoch: number; drawn: number[] }[] = [];
  const board = new StoryboardSheets({
    intervalS: 10,
    grid: GRID,
    log: quiet,
    tile,
    compose: (places) => new Int16Array(places.map((place) => (place === null ? -1 : place.header[0]!))) as unknown as Uint8Array,
    upload: async (meta, jpeg) => {
      const error = fail(meta);
      if (error) throw error;
      sent.push({ sheet: meta.sheet, tiles: meta.tiles, epoch: meta.epoch, drawn: [...(jpeg as unknown as Int16Array)] });
    },
  });
  return { board, sent };
}

const tile = (k: number) => new Uint8Array([k]);

/** Adds tiles 0..count-1 under `epoch` one at a time, each upload settled before the next tile comes. */
async function addEach(board: StoryboardSheets, epoch: number, count: number): Promise<void> {
  for (let k = 0; k < count; k++) {
    board.add(epoch, tile(k));
    await board.settled();
  }
}

describe("StoryboardSheets", () => {
  it("re-sends the sheet a tile lands on, rolling to the next sheet after columns × rows tiles", async () => {
    const { board, sent } = harness();
    await addEach(board, 7, 6);
    expect(sent.map((s) => [s.sheet, s.tiles])).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
      [0, 4],
      [1, 1],
      [1, 2],
    ]);
    expect(sent[3]!.drawn).toEqual([0, 1, 2, 3]);
    expect(sent[5]!.drawn).toEqual([4, 5]);
    expect(sent.every((s) => s.epoch === 7)).toBe(true);
    // The full sheet is no longer held.
    expect(board.heldSheets).toBe(1);
  });

  it("leaves the place of a tile that could not be made black, every later tile at its own place", async () => {
    const { board, sent } = harness(undefined, async (thumbnail) => {
      if (thumbnail[0] === 1 || thumbnail[0] === 4) throw new Error("no picture within 2000 ms");
      return fakeTile(thumbnail);
    });
    await addEach(board, 1, 6);
    expect(sent.map((s) => [s.sheet, s.tiles, s.drawn])).toEqual([
      [0, 1, [0]],
      [0, 2, [0, -1]],
      [0, 3, [0, -1, 2]],
      [0, 4, [0, -1, 2, 3]],
      [1, 1, [-1]],
      [1, 2, [-1, 5]],
    ]);
  });

  it("waits for tiles still being made, and draws each at its place whatever order they are made in", async () => {
    const made: (() => void)[] = [];
    const { board, sent } = harness(undefined, (thumbnail) => new Promise((resolve) => made.push(() => resolve(fakeTile(thumbnail)))));
    for (let k = 0; k < 3; k++) board.add(1, tile(k));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(sent).toEqual([]);
    made[2]!();
    made[0]!();
    await new Promise((resolve) => setTimeout(resolve, 10));
    // The upload under way when tiles 1 and 2 were added was of tile 0 alone; the next one waits for tile 1.
    expect(sent.map((s) => [s.sheet, s.tiles, s.drawn])).toEqual([[0, 1, [0]]]);
    made[1]!();
    await board.settled();
    expect(sent.map((s) => [s.sheet, s.tiles, s.drawn])).toEqual([
      [0, 1, [0]],
      [0, 3, [0, 1, 2]],
    ]);
  });

  it("coalesces tiles added while a sheet is being sent into the next upload", async () => {
    const { board, sent } = harness();
    for (let k = 0; k < 3; k++) board.add(1, tile(k));
    await board.settled();
    expect(sent.map((s) => [s.sheet, s.tiles])).toEqual([
      [0, 1],
      [0, 3],
    ]);
  });

  it("repairs a failed upload with the next tile, before any later sheet", async () => {
    let failing = true;
    const { board, sent } = harness((meta) => (failing && meta.sheet === 0 && meta.tiles === 4 ? new Error("edge unavailable") : null));
    await addEach(board, 1, 4);
    failing = false;
    board.add(1, tile(4));
    await board.settled();
    expect(sent.map((s) => [s.sheet, s.tiles])).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
      [0, 4],
      [1, 1],
    ]);
  });

  it("stops the publish's storyboard when the edge refuses a sheet, and starts over with a new epoch", async () => {
    const { board, sent } = harness((meta) => (meta.epoch === 1 && meta.sheet === 1 ? new StoryboardRefusedError("at most 1 sheet") : null));
    await addEach(board, 1, 7);
    expect(sent.map((s) => [s.sheet, s.tiles])).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
      [0, 4],
    ]);
    expect(board.heldSheets).toBe(0);
    board.add(2, tile(9));
    await board.settled();
    expect(sent.at(-1)).toMatchObject({ epoch: 2, sheet: 0, tiles: 1, drawn: [9] });
    expect(board.tileCount).toBe(1);
  });

  it(`holds at most ${MAX_PENDING_SHEETS} sheets while uploads fail, then gives the publish's storyboard up`, async () => {
    const { board, sent } = harness(() => new Error("edge unavailable"));
    const perSheet = GRID.columns * GRID.rows;
    await addEach(board, 1, MAX_PENDING_SHEETS * perSheet);
    expect(board.heldSheets).toBe(MAX_PENDING_SHEETS);
    board.add(1, tile(99));
    await board.settled();
    expect(board.heldSheets).toBe(0);
    expect(sent).toEqual([]);
  });
});
