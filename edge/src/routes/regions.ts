// GET /regions: the ingest regions (configured ones and those registered nodes report) with their healthy nodes.
// Mounted behind a bearer token (index.ts): any user's.
import { createRoute } from "@hono/zod-openapi";
import { getConfig } from "../config.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";
import { apiRouter } from "../openapi/api-router.ts";
import { problems } from "../openapi/problem.ts";
import { RegionsSchema } from "../openapi/schemas.ts";
import { byLoad, callerLocation, chooseIngest, isHealthy, knownRegions, registeredNodes } from "../streams/ingest-selection.ts";

/** One healthy node as `GET /regions` shows it. */
export interface RegionNodeView {
  id: string;
  rtmp_url: string;
  load: number;
  active_streams: number;
  last_heartbeat_at: string | null;
}

/** One region as `GET /regions` shows it. */
export interface RegionView {
  region: string;
  /** The RTMP server URL INGEST_REGIONS configures for it (used when none of its nodes is healthy), or null. */
  default_ingest_server: string | null;
  /** Healthy nodes (heard from within NODE_HEALTHY_SECONDS), least loaded first. */
  nodes: RegionNodeView[];
}

/** Routes under /regions. */
export const regionRoutes = apiRouter();

const regionsRoute = createRoute({
  method: "get",
  path: "/",
  tags: ["Regions and nodes"],
  summary: "Ingest regions and their healthy nodes",
  description: "Configured regions and those registered nodes report, and where a stream created now without a region would ingest.",
  security: [{ bearer: [] }],
  responses: { 200: { description: "Regions", content: { "application/json": { schema: RegionsSchema } } }, ...problems(401) },
});

regionRoutes.openapi(regionsRoute, async (c) => {
  const config = getConfig(c.env);
  const nodes = await registeredNodes(c.env.DB);
  const now = Date.now();
  const healthyMs = config.nodeHealthySeconds * 1000;
  const healthy = nodes.filter((n) => isHealthy(n, now, healthyMs)).sort(byLoad);
  const regions: RegionView[] = knownRegions(config.regions, nodes).map((region) => ({
    region,
    default_ingest_server: config.regions[region] ?? null,
    nodes: healthy
      .filter((n) => n.region === region)
      .map((n) => ({ id: n.id, rtmp_url: n.rtmpUrl, load: n.load, active_streams: n.activeStreams, last_heartbeat_at: n.lastHeartbeatAt })),
  }));
  // Where a stream created now without a region would ingest, for this caller.
  const suggested = chooseIngest({
    requested: null,
    configured: config.regions,
    defaultRegion: config.defaultRegion,
    nodes,
    caller: callerLocation(c.req.raw),
    regionTable: config.regionByContinent,
    now,
    healthyMs,
  });
  return c.json(
    {
      regions,
      default_region: config.defaultRegion,
      node_healthy_seconds: config.nodeHealthySeconds,
      suggested: { region: suggested.region, ingest_server: suggested.ingestServer, reason: suggested.reason },
    },
    200,
  );
});

regionRoutes.all("/", methodNotAllowed("GET"));
