// Admin API for ingest nodes: mint a node credential (shown once, stored as SHA-256, with an expiry), forget a node.
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { NODE_ID_PATTERN, REGION_PATTERN } from "../../../protocol/names.ts";
import type { AppContext, AppEnv } from "../app-env.ts";
import { requireAdmin, requireUser } from "../auth/principal.ts";
import { newSecret, sha256Hex } from "../auth/secrets.ts";
import { database } from "../db/client.ts";
import { ingestNodes } from "../db/schema.ts";
import { AppError, notFound } from "../errors.ts";
import { limitJsonBody, readJson } from "../http/json-body.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";

/** Prefix of every minted node credential, so a leaked one is recognizable in secret scanners. */
export const NODE_CREDENTIAL_PREFIX = "nc";

/** Default lifetime of a node credential: 90 days. */
export const DEFAULT_NODE_CREDENTIAL_SECONDS = 90 * 86400;

const MintCredentialSchema = z.strictObject({
  region: z.string().regex(REGION_PATTERN, "must match [a-z0-9][a-z0-9-]{0,31}"),
  /** Lifetime in seconds (default 90 days, at most 2 years). */
  expires_in: z
    .number()
    .int()
    .min(1)
    .max(2 * 365 * 86400)
    .default(DEFAULT_NODE_CREDENTIAL_SECONDS),
});

function nodeIdFrom(c: AppContext): string {
  const id = c.req.param("id") ?? "";
  if (!NODE_ID_PATTERN.test(id)) throw new AppError(400, "invalid_field", "node id: must match [a-z0-9][a-z0-9_.-]{0,63}");
  return id;
}

/** Routes under /nodes (admin only). */
export const nodeRoutes = new Hono<AppEnv>();

nodeRoutes.use("*", requireUser, requireAdmin, limitJsonBody);

/**
 * Mints a credential for node `:id` (replacing its previous one). The credential is valid only with
 * `x-node-id: <id>` and until `expires_at`; it is shown once, here, and stored only as a hash.
 */
nodeRoutes.post("/:id/credentials", async (c) => {
  const nodeId = nodeIdFrom(c);
  const body = await readJson(c, MintCredentialSchema);
  const credential = newSecret(NODE_CREDENTIAL_PREFIX);
  const expiresAt = new Date(Date.now() + body.expires_in * 1000).toISOString();
  const credentialHash = await sha256Hex(credential);
  await database(c.env)
    .insert(ingestNodes)
    // The node fills in its RTMP URL and load with its first heartbeat; until then it is not offered to streamers.
    .values({ id: nodeId, region: body.region, rtmpUrl: "", credentialHash, credentialExpiresAt: expiresAt })
    .onConflictDoUpdate({ target: ingestNodes.id, set: { region: body.region, credentialHash, credentialExpiresAt: expiresAt } });
  return c.json({ node_id: nodeId, region: body.region, credential, expires_at: expiresAt }, 201);
});

nodeRoutes.all("/:id/credentials", methodNotAllowed("POST"));

/** Forgets a node: its registration and its credential (the bootstrap INGEST_SECRET, if set, still works for it). */
nodeRoutes.delete("/:id", async (c) => {
  const nodeId = nodeIdFrom(c);
  const deleted = await database(c.env).delete(ingestNodes).where(eq(ingestNodes.id, nodeId)).returning({ id: ingestNodes.id });
  if (deleted.length === 0) throw notFound(`Node "${nodeId}"`);
  return c.body(null, 204);
});

nodeRoutes.all("/:id", methodNotAllowed("DELETE"));
