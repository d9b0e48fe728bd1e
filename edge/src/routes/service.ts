// What the service says about itself: GET / (where things are) and GET /healthz (the Worker answers). Public.
import { createRoute, z } from "@hono/zod-openapi";
import { apiRouter } from "../openapi/api-router.ts";

/** Routes at the root. */
export const serviceRoutes = apiRouter();

const IndexSchema = z
  .strictObject({
    name: z.literal("edgecast"),
    docs: z.string(),
    /** The interactive API reference. */
    api_reference: z.literal("/docs"),
    /** This document. */
    openapi: z.literal("/openapi.json"),
    endpoints: z.array(z.string()),
  })
  .openapi("ServiceIndex");

const indexRoute = createRoute({
  method: "get",
  path: "/",
  tags: ["Service"],
  summary: "Where things are",
  description: "A browser asking for HTML gets the home page instead.",
  responses: { 200: { description: "The service index", content: { "application/json": { schema: IndexSchema } } } },
});

serviceRoutes.openapi(indexRoute, (c) =>
  c.json(
    {
      name: "edgecast" as const,
      docs: "https://github.com/edgecast/edgecast#readme",
      api_reference: "/docs" as const,
      openapi: "/openapi.json" as const,
      endpoints: ["/streams", "/users", "/regions", "/nodes", "/live/:id/master.m3u8", "/watch/:id", "/docs"],
    },
    200,
  ),
);

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["Service"],
  summary: "Liveness",
  responses: { 200: { description: "The Worker answers", content: { "application/json": { schema: z.strictObject({ ok: z.literal(true) }) } } } },
});

serviceRoutes.openapi(healthRoute, (c) => c.json({ ok: true as const }, 200));
