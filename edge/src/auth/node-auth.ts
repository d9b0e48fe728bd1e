// Authentication of ingest nodes: a minted credential plus the node id it was minted for. The bootstrap secret
// (INGEST_SECRET) is no node credential: it only registers a node (mints that node id's own expiring credential).
import { eq } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { NODE_ID_HEADER } from "../../../protocol/ingest.ts";
import { NODE_ID_PATTERN } from "../../../protocol/names.ts";
import type { AppEnv } from "../app-env.ts";
import { database } from "../db/client.ts";
import { ingestNodes } from "../db/schema.ts";
import { AppError } from "../errors.ts";
import { bearerToken } from "./principal.ts";
import { constantTimeEqual, hashesEqual, sha256Hex } from "./secrets.ts";

const unauthorized = (detail: string) => new AppError(401, "unauthorized", detail, { "www-authenticate": 'Bearer realm="edgecast-ingest"' });

/** True when `token` is the configured bootstrap secret (compared in constant time). */
async function isBootstrapSecret(env: Env, token: string): Promise<boolean> {
  return Boolean(env.INGEST_SECRET) && (await constantTimeEqual(token, env.INGEST_SECRET));
}

/**
 * Middleware: 401 unless the request carries node `x-node-id`'s own minted credential, unexpired. Sets `nodeId` and
 * `nodeRegion` (the region the credential was minted for).
 */
export const requireNode = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  const nodeId = c.req.header(NODE_ID_HEADER) ?? "";
  if (!token) throw unauthorized("Missing node credential: send `Authorization: Bearer <node token>`.");
  if (!NODE_ID_PATTERN.test(nodeId)) throw unauthorized(`Missing or invalid ${NODE_ID_HEADER} header.`);
  const hash = await sha256Hex(token);
  const rows = await database(c.env)
    .select({ hash: ingestNodes.credentialHash, expiresAt: ingestNodes.credentialExpiresAt, region: ingestNodes.region })
    .from(ingestNodes)
    .where(eq(ingestNodes.id, nodeId))
    .limit(1);
  const row = rows[0];
  if (!row?.hash || !hashesEqual(row.hash, hash)) {
    // Said plainly, since older deployments set the bootstrap secret as NODE_TOKEN.
    if (await isBootstrapSecret(c.env, token)) {
      throw unauthorized("This is the bootstrap secret: it only registers a node (POST /ingest/v1/nodes/register); use the credential that answers.");
    }
    throw unauthorized("The node credential is invalid.");
  }
  if (row.expiresAt && Date.parse(row.expiresAt) <= Date.now()) throw unauthorized("The node credential has expired.");
  c.set("nodeId", nodeId);
  c.set("nodeRegion", row.region);
  await next();
});

/** Middleware: 401 unless the bearer is the bootstrap secret (INGEST_SECRET, when it is set at all). */
export const requireBootstrap = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  if (!token || !(await isBootstrapSecret(c.env, token))) throw unauthorized("Registering a node needs the bootstrap secret (INGEST_SECRET).");
  await next();
});
