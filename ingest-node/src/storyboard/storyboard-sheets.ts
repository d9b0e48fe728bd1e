// A publish's storyboard while it is live: every thumbnail becomes the next tile (a small JPEG, storyboard-tiler.ts),
// and the sheet it lands on is assembled again from its tiles' bytes (jpeg-sprite.ts) and uploaded at once, so the
// edge always holds every tile made so far and a VOD has its storyboard the moment the broadcast ends, with no step at
// the end. Why re-make the sheet per tile rather than upload it once full: a partial last sheet would otherwise wait
// for an end-of-publish flush, and a failed upload is repaired by the next one (which carries every tile of the
// sheet); the cost is one tile, an assembly of tens of microseconds and one upload of at most one sheet (tens of
// KB) per thumbnail interval. Tile k is always drawn at place k: a thumbnail whose tile could not be made leaves its
// place black rather than move the later ones off their times.
import { DEFAULT_STORYBOARD_GRID, type StoryboardGrid, tilesPerSheet } from "../../../protocol/storyboard.ts";
import type { StoryboardSheetMeta } from "../../../protocol/ingest.ts";
import type { Logger } from "../log.ts";
import type { JpegTile } from "./jpeg-tile.ts";

/** Full sheets at most waiting for a successful upload; past it the publish's storyboard stops (its tiles are freed). */
export const MAX_PENDING_SHEETS = 4;

/** Options of StoryboardSheets. */
export interface StoryboardSheetsOptions {
  /** Seconds of media between two thumbnails: tile k is the picture at k × intervalS of its publish. */
  intervalS: number;
  grid?: StoryboardGrid;
  /** Makes a thumbnail's tile fit to share a sheet (storyboard-tiler.ts, or a fake in tests); a rejection leaves its place black. */
  tile: (thumbnail: Uint8Array) => Promise<JpegTile>;
  /** Draws a sheet from its places, null for black (jpeg-sprite.ts's assembleTiles, or a fake in tests). */
  compose: (tiles: (JpegTile | null)[], grid: StoryboardGrid) => Uint8Array;
  /** Uploads a sheet; rejects with `permanent: true` when the edge refused it for good (no lease, over the bound). */
  upload: (meta: StoryboardSheetMeta, jpeg: Uint8Array) => Promise<void>;
  log: Logger;
}

/** Error an upload rejects with when retrying cannot help: the storyboard of that epoch stops. */
export class StoryboardRefusedError extends Error {}

/** One place of a sheet: its tile once made (null until then, and for good when it could not be made). */
interface Place {
  tile: JpegTile | null;
  /** Settles once the tile is made or given up. */
  made: Promise<void>;
}

/** The storyboard of one publish at a time (a new epoch starts a new one, as tile times restart with it). */
export class StoryboardSheets {
  private readonly options: StoryboardSheetsOptions;
  private readonly grid: StoryboardGrid;
  private epoch: number | null = null;
  /** Places of the sheets not yet uploaded as they are now, by sheet number (the last one is being filled). */
  private pending = new Map<number, Place[]>();
  /** Sheets whose latest tiles are not uploaded yet. */
  private dirty = new Set<number>();
  private tiles = 0;
  private stopped = false;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(options: StoryboardSheetsOptions) {
    this.options = options;
    this.grid = options.grid ?? DEFAULT_STORYBOARD_GRID;
  }

  /** Tiles added in the current epoch. */
  get tileCount(): number {
    return this.tiles;
  }

  /** Sheets held in memory (waiting for an upload, or being filled). */
  get heldSheets(): number {
    return this.pending.size;
  }

  /** Adds the next thumbnail of publish `epoch` as a tile and uploads its sheet (in the background, one at a time). */
  add(epoch: number, thumbnail: Uint8Array): void {
    if (epoch !== this.epoch) this.reset(epoch);
    if (this.stopped) return;
    const index = this.tiles;
    const sheet = Math.floor(index / tilesPerSheet(this.grid));
    const places = this.pending.get(sheet) ?? [];
    const place: Place = { tile: null, made: Promise.resolve() };
    place.made = this.options.tile(thumbnail).then(
      (tile) => {
        place.tile = tile;
      },
      (error: Error) => this.options.log.warn("storyboard tile not made (its place stays black)", { tile: index, error: error.message }),
    );
    places.push(place);
    this.pending.set(sheet, places);
    this.dirty.add(sheet);
    this.tiles++;
    if (this.pending.size > MAX_PENDING_SHEETS) {
      this.stop(`more than ${MAX_PENDING_SHEETS} sheets wait for an upload`);
      return;
    }
    this.kick();
  }

  /** Resolves once every tile added so far was uploaded, or given up. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  private reset(epoch: number): void {
    this.epoch = epoch;
    this.pending = new Map();
    this.dirty = new Set();
    this.tiles = 0;
    this.stopped = false;
  }

  private stop(reason: string): void {
    this.options.log.warn("storyboard stopped for this publish", { epoch: this.epoch, reason });
    this.stopped = true;
    this.pending = new Map();
    this.dirty = new Set();
  }

  private kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Uploads each dirty sheet in order; stops at the first failure (the next tile retries it). */
  private async drain(): Promise<void> {
    const perSheet = tilesPerSheet(this.grid);
    const epoch = this.epoch!;
    for (const sheet of [...this.dirty].sort((a, b) => a - b)) {
      const places = this.pending.get(sheet);
      if (!places || this.epoch !== epoch || this.stopped) return;
      const count = places.length;
      const meta: StoryboardSheetMeta = {
        epoch,
        sheet,
        tiles: count,
        interval_s: this.options.intervalS,
        tile_width: this.grid.tileWidth,
        tile_height: this.grid.tileHeight,
        columns: this.grid.columns,
        rows: this.grid.rows,
      };
      try {
        // Tiles still being made are waited for: each place is drawn as it will stay.
        await Promise.all(places.slice(0, count).map((place) => place.made));
        if (this.epoch !== epoch || this.stopped) return;
        const jpeg = this.options.compose(
          places.slice(0, count).map((place) => place.tile),
          this.grid,
        );
        await this.options.upload(meta, jpeg);
      } catch (error) {
        if (this.epoch !== epoch) return;
        if (error instanceof StoryboardRefusedError) this.stop((error as Error).message);
        else this.options.log.warn("storyboard sheet not uploaded (the next thumbnail retries it)", { sheet, error: (error as Error).message });
        return;
      }
      if (this.epoch !== epoch) return;
      // Tiles added meanwhile keep the sheet dirty; a full sheet that went up whole is done with.
      if (places.length === count) this.dirty.delete(sheet);
      if (count === perSheet) this.pending.delete(sheet);
    }
  }
}
