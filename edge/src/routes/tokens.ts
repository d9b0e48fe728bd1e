// Revoking an API token: DELETE /tokens/:id by its owner (any of the owner's tokens) or the admin.
import { Hono } from "hono";
import type { AppEnv } from "../app-env.ts";
import { findToken, revokeToken } from "../auth/api-tokens.ts";
import { requireUser } from "../auth/principal.ts";
import { database } from "../db/client.ts";
import { notFound } from "../errors.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";

/** Routes under /tokens. */
export const tokenRoutes = new Hono<AppEnv>();

tokenRoutes.use("*", requireUser);

tokenRoutes.delete("/:id", async (c) => {
  const id = c.req.param("id");
  const db = database(c.env);
  const row = /^[0-9a-f-]{36}$/.test(id) ? await findToken(db, c.get("principal"), id) : null;
  if (!row || row.revokedAt) throw notFound(`Token "${id.slice(0, 64)}"`);
  // The token and every token minted through it stop working with the next request (each request reads D1).
  await revokeToken(db, row.id);
  return c.body(null, 204);
});

tokenRoutes.all("/:id", methodNotAllowed("DELETE"));
