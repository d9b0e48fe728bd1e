// POST /ingest/v1/nodes/register: an ingest node registers itself with the bootstrap secret (INGEST_SECRET, checked at
// the mount in index.ts) and is answered with its own node credential, which every other ingest route asks for.
import { Hono } from "hono";
import { type NodeCredential, NodeRegisterRequestSchema } from "../../../protocol/ingest.ts";
import type { AppEnv } from "../app-env.ts";
import { registerNodeCredential } from "../auth/node-credentials.ts";
import { getConfig } from "../config.ts";
import { AppError } from "../errors.ts";
import { limitJsonBody, readJson } from "../http/json-body.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";

/** The route under /ingest/v1/nodes/register. */
export const nodeRegistrationRoutes = new Hono<AppEnv>();

/**
 * A node registers itself with the bootstrap secret: the answer is that node id's own credential for `region`,
 * expiring after NODE_REGISTRATION_SECONDS (the node registers again before then), and it replaces a previous one
 * the node registered. It never replaces an unexpired credential the admin minted (409 `node_provisioned`): whoever
 * holds the bootstrap secret must not take over a node the admin provisioned.
 */
nodeRegistrationRoutes.post("/", limitJsonBody, async (c) => {
  const body = await readJson(c, NodeRegisterRequestSchema);
  const { nodeRegistrationSeconds } = getConfig(c.env);
  const minted = await registerNodeCredential(c.env.DB, {
    nodeId: body.node_id,
    region: body.region,
    rtmpUrl: null,
    expiresInSeconds: nodeRegistrationSeconds,
  });
  if (!minted) {
    throw new AppError(
      409,
      "node_provisioned",
      `Node "${body.node_id}" holds a credential the admin minted, which has not expired: registering cannot replace it. Run that node with its credential (NODE_TOKEN), or pick another node id; the admin can forget the node (DELETE /nodes/${body.node_id}) to free the id.`,
    );
  }
  const answer: NodeCredential = { node_id: body.node_id, region: body.region, credential: minted.credential, expires_at: minted.expiresAt };
  return c.json(answer, 201);
});
nodeRegistrationRoutes.all("/", methodNotAllowed("POST"));
