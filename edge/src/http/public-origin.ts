// The origin that public URLs (playback, VOD, clips) use.
import type { AppContext } from "../app-env.ts";
import { getConfig } from "../config.ts";

/** PUBLIC_URL when configured, else the request's own origin. */
export function publicOrigin(c: AppContext): string {
  return getConfig(c.env).publicUrl ?? new URL(c.req.url).origin;
}
