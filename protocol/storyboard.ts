// Storyboard geometry shared by the node (which tiles thumbnails into sprite sheets) and the edge (which points
// WebVTT cues into them): tile k of a publish is the picture at k × interval seconds of that publish's media, drawn
// in sheet floor(k / tiles per sheet), row-major.

/** How a publish's sprite sheets are laid out: tile size and tiles per row and column. */
export interface StoryboardGrid {
  tileWidth: number;
  tileHeight: number;
  columns: number;
  rows: number;
}

/**
 * The grid the node makes: 160×96 tiles, 5×5 per sheet (an 800×480 JPEG, 250 s of media at a 10 s interval). Why 96
 * and not 90: the node lays tiles into a sheet as whole JPEG MCU rows (16 px in 4:2:0), so a tile is whole MCUs; a
 * 16:9 picture is letterboxed in it (160×90 and a 3 px bar above and below).
 */
export const DEFAULT_STORYBOARD_GRID: StoryboardGrid = { tileWidth: 160, tileHeight: 96, columns: 5, rows: 5 };

/** Where one tile is: its sheet and its rectangle in that sheet's image (pixels). */
export interface TilePlace {
  sheet: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Tiles one sheet holds. */
export function tilesPerSheet(grid: StoryboardGrid): number {
  return grid.columns * grid.rows;
}

/** Where tile `index` (0-based, counted over the whole publish) is drawn. */
export function tilePlace(grid: StoryboardGrid, index: number): TilePlace {
  const perSheet = tilesPerSheet(grid);
  const inSheet = index % perSheet;
  return {
    sheet: Math.floor(index / perSheet),
    x: (inSheet % grid.columns) * grid.tileWidth,
    y: Math.floor(inSheet / grid.columns) * grid.tileHeight,
    width: grid.tileWidth,
    height: grid.tileHeight,
  };
}

/** A sheet's full image size: every sheet is the whole grid, the places of a partial one black. */
export function sheetSize(grid: StoryboardGrid): { width: number; height: number } {
  return { width: grid.columns * grid.tileWidth, height: grid.rows * grid.tileHeight };
}
