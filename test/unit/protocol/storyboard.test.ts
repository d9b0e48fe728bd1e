// Tile geometry: where tile k of a publish is drawn, and that every tile lies inside its sheet's image.
import { describe, expect, it } from "vitest";
import { DEFAULT_STORYBOARD_GRID, sheetSize, tilePlace, tilesPerSheet } from "../../../protocol/storyboard.ts";

describe("storyboard tile geometry", () => {
  const grid = DEFAULT_STORYBOARD_GRID;

  it("lays 25 tiles of 160x96 row-major on an 800x480 sheet", () => {
    expect(tilesPerSheet(grid)).toBe(25);
    expect(sheetSize(grid)).toEqual({ width: 800, height: 480 });
    expect(tilePlace(grid, 0)).toEqual({ sheet: 0, x: 0, y: 0, width: 160, height: 96 });
    expect(tilePlace(grid, 4)).toEqual({ sheet: 0, x: 640, y: 0, width: 160, height: 96 });
    expect(tilePlace(grid, 5)).toEqual({ sheet: 0, x: 0, y: 96, width: 160, height: 96 });
    expect(tilePlace(grid, 24)).toEqual({ sheet: 0, x: 640, y: 384, width: 160, height: 96 });
    expect(tilePlace(grid, 25)).toEqual({ sheet: 1, x: 0, y: 0, width: 160, height: 96 });
    expect(tilePlace(grid, 57)).toEqual({ sheet: 2, x: 2 * 160, y: 96, width: 160, height: 96 });
  });

  it("keeps every tile of odd grids inside its sheet, each place used once per sheet", () => {
    for (const g of [grid, { tileWidth: 96, tileHeight: 54, columns: 3, rows: 7 }, { tileWidth: 16, tileHeight: 16, columns: 1, rows: 1 }]) {
      const size = sheetSize(g);
      const seen = new Set<string>();
      for (let k = 0; k < tilesPerSheet(g) * 3; k++) {
        const place = tilePlace(g, k);
        expect(place.sheet).toBe(Math.floor(k / tilesPerSheet(g)));
        expect(place.x + place.width).toBeLessThanOrEqual(size.width);
        expect(place.y + place.height).toBeLessThanOrEqual(size.height);
        const key = `${place.sheet}:${place.x},${place.y}`;
        expect(seen.has(key)).toBe(false);
        seen.add(key);
      }
    }
  });
});
