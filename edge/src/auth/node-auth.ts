// Authentication of ingest nodes: a bearer credential plus the node id it was minted for.
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

const unauthorized = (detail: string) =>
  new AppError(401, "unauthorized", detail, { "www-authenticate": 'Bearer realm="edgecast-ingest"' });

/**
 * Middleware: 401 unless the request carries a valid node credential and `x-node-id`. The bootstrap credential
 * (`INGEST_SECRET`) is valid for any node id; a minted credential only for its own node and until it expires.
 */
export const requireNode = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  const nodeId = c.req.header(NODE_ID_HEADER) ?? "";
  if (!token) throw unauthorized("Missing node credential: send `Authorization: Bearer <node token>`.");
  if (!NODE_ID_PATTERN.test(nodeId)) throw unauthorized(`Missing or invalid ${NODE_ID_HEADER} header.`);
  if (!(c.env.INGEST_SECRET && (await constantTimeEqual(token, c.env.INGEST_SECRET)))) {
    const hash = await sha256Hex(token);
    const rows = await database(c.env)
      .select({ hash: ingestNodes.credentialHash, expiresAt: ingestNodes.credentialExpiresAt })
      .from(ingestNodes)
      .where(eq(ingestNodes.id, nodeId))
      .limit(1);
    const row = rows[0];
    if (!row?.hash || !hashesEqual(row.hash, hash)) throw unauthorized("The node credential is invalid.");
    if (row.expiresAt && Date.parse(row.expiresAt) <= Date.now()) throw unauthorized("The node credential has expired.");
  }
  c.set("nodeId", nodeId);
  await next();
});
