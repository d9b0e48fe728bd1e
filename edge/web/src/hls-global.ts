// hls.js as the pages load it: the UMD build the Worker serves (`/watch/assets/hls-<version>.min.js`), a classic
// script that defines `window.Hls` before the page's module runs. Its UMD build carries its transmuxing worker inline,
// which the ESM build does not; this module only borrows hls.js's types.
import type Hls from "hls.js";

/** The hls.js class (constructor and statics). */
export type HlsClass = typeof Hls;

declare global {
  interface Window {
    Hls?: HlsClass;
  }
}

/** The hls.js class the page loaded, or undefined when its script did not run. */
export function hlsClass(): HlsClass | undefined {
  return window.Hls;
}
