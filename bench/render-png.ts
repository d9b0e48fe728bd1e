// Turns hand-drawn SVG figures into PNG files with headless Chromium's screenshot (the `canvas` package does not
// install here; ENVIRONMENT.md).
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, chromiumPath } from "../scripts/lib/browser.ts";

/** One figure: SVG text and its size in CSS pixels. */
export interface Figure {
  file: string;
  svg: string;
  width: number;
  height: number;
}

/** Renders every figure to its PNG `file` (2x device pixel ratio for crisp text). */
export async function renderPngs(figures: Figure[]): Promise<void> {
  if (figures.length === 0) return;
  const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
  try {
    for (const figure of figures) {
      const page = await browser.newPage({ viewport: { width: figure.width, height: figure.height }, deviceScaleFactor: 2 });
      await page.setContent(`<!doctype html><html><body style="margin:0;background:#fff">${figure.svg}</body></html>`);
      await page.screenshot({ path: figure.file, clip: { x: 0, y: 0, width: figure.width, height: figure.height } });
      await page.close();
    }
  } finally {
    await browser.close();
  }
}
