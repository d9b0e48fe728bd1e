// Revoking an API token: DELETE /tokens/:id by its owner (any of the owner's tokens) or the admin. Mounted behind a
// bearer token (index.ts).
import { createRoute, z } from "@hono/zod-openapi";
import { findToken, revokeToken } from "../auth/api-tokens.ts";
import { database } from "../db/client.ts";
import { notFound } from "../errors.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";
import { apiRouter } from "../openapi/api-router.ts";
import { problems } from "../openapi/problem.ts";

/** Routes under /tokens. */
export const tokenRoutes = apiRouter();

const revokeRoute = createRoute({
  method: "delete",
  path: "/{id}",
  tags: ["Users and tokens"],
  summary: "Revoke an API token",
  description: "The token and every token minted through it are refused (401 `revoked`) from the next request on.",
  security: [{ bearer: [] }],
  request: { params: z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, format: "uuid" }) }) },
  responses: { 204: { description: "Revoked" }, ...problems(401, 404) },
});

tokenRoutes.openapi(revokeRoute, async (c) => {
  const id = c.req.param("id") ?? "";
  const db = database(c.env);
  const row = /^[0-9a-f-]{36}$/.test(id) ? await findToken(db, c.get("principal"), id) : null;
  if (!row || row.revokedAt) throw notFound(`Token "${id.slice(0, 64)}"`);
  // The token and every token minted through it stop working with the next request (each request reads D1).
  await revokeToken(db, row.id);
  return c.body(null, 204);
});

tokenRoutes.all("/:id", methodNotAllowed("DELETE"));
