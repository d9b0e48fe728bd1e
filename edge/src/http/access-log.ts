// The Worker's access log: one line per request — method, path, status, time — never the query (playback tokens
// travel there) nor headers (bearer tokens). Viewer traffic (playlists, media, the watch page: several requests per
// viewer per second) and the nodes' and workers' routine traffic (media uploads and heartbeats: several per stream per
// second) are logged only when they fail, so the log stays readable and a burst of answers does not pay a console
// write each. Publishes, unpublishes and registrations are always logged.
import type { MiddlewareHandler } from "hono";

/** Paths viewers hit, by first segment — and the benchmark's baseline routes (present only with BENCH_ROUTES=1), which
 *  must cost what the viewer routes they are compared with cost. */
const VIEWER_PREFIXES = new Set(["live", "vod", "clips", "watch", "bench"]);

/** True for a viewer's GET/HEAD/OPTIONS of a playback path. */
export function isViewerRequest(method: string, path: string): boolean {
  if (method !== "GET" && method !== "HEAD" && method !== "OPTIONS") return false;
  const first = path.split("/", 2)[1] ?? "";
  return VIEWER_PREFIXES.has(first);
}

/** True for a node's or worker's media upload (PUT) or heartbeat (POST …/heartbeat) on the ingest API. */
export function isRoutineIngestRequest(method: string, path: string): boolean {
  if (!path.startsWith("/ingest/v1/")) return false;
  return method === "PUT" || (method === "POST" && path.endsWith("/heartbeat"));
}

/** Access-log middleware writing to `print` (console.log by default). */
export function accessLog(print: (line: string) => void = console.log): MiddlewareHandler {
  return async (c, next) => {
    const started = Date.now();
    await next();
    const status = c.res.status;
    const path = c.req.path;
    if (status < 400 && (isViewerRequest(c.req.method, path) || isRoutineIngestRequest(c.req.method, path))) return;
    print(`${c.req.method} ${path} ${status} ${Date.now() - started}ms`);
  };
}
