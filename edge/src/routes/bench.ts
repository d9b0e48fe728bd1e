// Baseline routes for `npm run bench` (bench/edge-throughput.ts): a plain-text answer and a raw R2 read, so playback
// routes can be compared with the cheapest things a Worker can do in the same run. They exist only when the
// `BENCH_ROUTES` var is "1" (the benchmark sets it on its own `wrangler dev`); otherwise every path here is a 404.
import { Hono } from "hono";
import type { AppEnv } from "../app-env.ts";
import { problemResponse } from "../errors.ts";
import { mediaStore } from "../storage/media-bucket.ts";

function enabled(env: Env): boolean {
  return (env as unknown as { BENCH_ROUTES?: string }).BENCH_ROUTES === "1";
}

/** Routes under /bench. */
export const benchRoutes = new Hono<AppEnv>();

benchRoutes.use("*", async (c, next) => {
  if (!enabled(c.env)) {
    return problemResponse(404, "not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}`, c.get("requestId"));
  }
  await next();
});

/** A short text: the Worker's floor (routing, middleware, a response), no Durable Object, no storage. */
benchRoutes.get("/plain", (c) => c.text("ok\n", 200, { "cache-control": "no-store" }));

/** Streams an R2 object by key with no Cache API in front: the floor for media GETs. */
benchRoutes.get("/r2/*", async (c) => {
  const key = decodeURIComponent(new URL(c.req.url).pathname.slice("/bench/r2/".length));
  const object = await mediaStore(c.env).rawObject(key);
  if (!object) return problemResponse(404, "not_found", "No such R2 object.", c.get("requestId"));
  return new Response(object.body, {
    headers: { "content-type": "application/octet-stream", "content-length": String(object.size), "cache-control": "no-store" },
  });
});

// The runtime's floor for a fan-out: requests parked in this isolate and woken all at once by another request — the
// same primitive the playlist coalescer's followers use (a promise resolved across requests, plus an own timer that
// keeps each request alive), with nothing else to do but answer. The fan-out benchmark releases N of these in the same
// run as N blocked playlist requests, so the playlist figure can be read against what workerd itself takes.
const parked = new Set<(woken: boolean) => void>();

/** Parks until `/bench/release` (or 20 s). */
benchRoutes.get("/hold", async (c) => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: ((woken: boolean) => void) | undefined;
  const woken = await new Promise<boolean>((resolve) => {
    wake = resolve;
    parked.add(resolve);
    timer = setTimeout(() => resolve(false), 20_000);
  });
  if (timer !== undefined) clearTimeout(timer);
  parked.delete(wake!);
  return c.text(woken ? "released\n" : "timeout\n", woken ? 200 : 503, { "cache-control": "no-store" });
});

/** How many requests are parked. */
benchRoutes.get("/held", (c) => c.text(`${parked.size}\n`, 200, { "cache-control": "no-store" }));

/** Wakes every parked request; answers how many. */
benchRoutes.post("/release", (c) => {
  const count = parked.size;
  for (const wake of [...parked]) wake(true);
  parked.clear();
  return c.text(`${count}\n`, 200, { "cache-control": "no-store" });
});
