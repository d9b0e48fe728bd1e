// Admin API for ingest nodes: mint a node credential (shown once, stored as SHA-256, with an expiry), forget a node.
// Mounted behind the admin token (index.ts).
import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { NODE_ID_PATTERN, REGION_PATTERN } from "../../../protocol/names.ts";
import type { AppContext } from "../app-env.ts";
import { mintNodeCredential } from "../auth/node-credentials.ts";
import { database } from "../db/client.ts";
import { ingestNodes } from "../db/schema.ts";
import { AppError, notFound } from "../errors.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";
import { apiRouter } from "../openapi/api-router.ts";
import { jsonBody, jsonBodyMiddleware } from "../openapi/json-request.ts";
import { problems } from "../openapi/problem.ts";
import { NodeCredentialSchema } from "../openapi/schemas.ts";

/** Default lifetime of a node credential: 90 days. */
export const DEFAULT_NODE_CREDENTIAL_SECONDS = 90 * 86400;

const MintCredentialSchema = z
  .strictObject({
    region: z.string().regex(REGION_PATTERN, "must match [a-z0-9][a-z0-9-]{0,31}"),
    /** Lifetime in seconds (default 90 days, at most 2 years). */
    expires_in: z
      .number()
      .int()
      .min(1)
      .max(2 * 365 * 86400)
      .default(DEFAULT_NODE_CREDENTIAL_SECONDS),
    /** The node's public RTMP URL, fixed by the admin: offered even when its host is not the region's configured one. */
    rtmp_url: z
      .string()
      .max(300)
      .regex(/^rtmps?:\/\/[^\s/?#]+(\/\S*)?$/, "must be an rtmp:// or rtmps:// URL")
      .optional(),
  })
  .openapi("NodeCredentialRequest");

function nodeIdFrom(c: AppContext): string {
  const id = c.req.param("id") ?? "";
  if (!NODE_ID_PATTERN.test(id)) throw new AppError(400, "invalid_field", "node id: must match [a-z0-9][a-z0-9_.-]{0,63}");
  return id;
}

const security = [{ bearer: [] }];
const NodeParams = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, example: "node-eu-1" }) });

/** Routes under /nodes (admin only). */
export const nodeRoutes = apiRouter();

const mintRoute = createRoute({
  method: "post",
  path: "/{id}/credentials",
  tags: ["Regions and nodes"],
  summary: "Mint a node credential (admin)",
  description:
    "Replaces the node's previous credential. Valid only with `x-node-id: <id>` and until `expires_at`; shown once, here, stored only as a hash. The node is offered to streamers in `region` only, at `rtmp_url` when given.",
  security,
  middleware: jsonBodyMiddleware(),
  request: { params: NodeParams, body: jsonBody(MintCredentialSchema) },
  responses: {
    201: { description: "The credential (shown once)", content: { "application/json": { schema: NodeCredentialSchema } } },
    ...problems(400, 401, 403, 413, 415),
  },
});

nodeRoutes.openapi(mintRoute, async (c) => {
  const nodeId = nodeIdFrom(c);
  const body = c.req.valid("json");
  const rtmpUrl = body.rtmp_url?.replace(/\/+$/, "") ?? null;
  const minted = await mintNodeCredential(c.env.DB, { nodeId, region: body.region, rtmpUrl, expiresInSeconds: body.expires_in });
  return c.json({ node_id: nodeId, region: body.region, credential: minted.credential, expires_at: minted.expiresAt, rtmp_url: rtmpUrl }, 201);
});

nodeRoutes.all("/:id/credentials", methodNotAllowed("POST"));

const forgetRoute = createRoute({
  method: "delete",
  path: "/{id}",
  tags: ["Regions and nodes"],
  summary: "Forget a node (admin)",
  description: "Its registration and its credential go (with the bootstrap INGEST_SECRET it could register again).",
  security,
  request: { params: NodeParams },
  responses: { 204: { description: "Forgotten" }, ...problems(400, 401, 403, 404) },
});

/** Forgets a node: its registration and its credential (with the bootstrap INGEST_SECRET it could register again). */
nodeRoutes.openapi(forgetRoute, async (c) => {
  const nodeId = nodeIdFrom(c);
  const deleted = await database(c.env).delete(ingestNodes).where(eq(ingestNodes.id, nodeId)).returning({ id: ingestNodes.id });
  if (deleted.length === 0) throw notFound(`Node "${nodeId}"`);
  return c.body(null, 204);
});

nodeRoutes.all("/:id", methodNotAllowed("DELETE"));
