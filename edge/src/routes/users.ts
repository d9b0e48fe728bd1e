// Users and their API tokens. The admin creates users and mints, lists and revokes anyone's tokens. A user's token
// may mint, list and revoke tokens of its own user only; a token it mints never outlives it and is revoked with it.
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AppContext, AppEnv } from "../app-env.ts";
import { listTokens, mintToken } from "../auth/api-tokens.ts";
import { requireAdmin, requireUser } from "../auth/principal.ts";
import { getConfig } from "../config.ts";
import { database } from "../db/client.ts";
import { users } from "../db/schema.ts";
import { notFound } from "../errors.ts";
import { limitJsonBody, readJson } from "../http/json-body.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";

const CreateUserSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  email: z.email().max(200).optional(),
});

const CreateTokenSchema = z.strictObject({
  name: z.string().trim().min(1).max(100).default("api"),
  /** Lifetime in seconds; omitted means as long as the minting token (the admin's: no expiry). */
  expires_in: z
    .number()
    .int()
    .min(60)
    .max(10 * 365 * 86400)
    .optional(),
});

/** Routes under /users. */
export const userRoutes = new Hono<AppEnv>();

userRoutes.use("*", requireUser, limitJsonBody);

userRoutes.post("/", requireAdmin, async (c) => {
  const body = await readJson(c, CreateUserSchema);
  const [user] = await database(c.env)
    .insert(users)
    .values({ id: crypto.randomUUID(), name: body.name, email: body.email ?? null, role: "user" })
    .returning();
  if (!user) throw new Error("insert into users returned no row");
  return c.json({ user_id: user.id, name: user.name, email: user.email, role: user.role, created_at: user.createdAt }, 201);
});

userRoutes.all("/", methodNotAllowed("POST"));

/** The user named in the path, if the caller is that user or the admin (404 otherwise: others look unknown). */
async function userFromPath(c: AppContext): Promise<string> {
  const principal = c.get("principal");
  const userId = c.req.param("id") ?? "";
  if (principal.role !== "admin" && principal.userId !== userId) throw notFound(`User "${userId.slice(0, 64)}"`);
  const owner = await database(c.env).select({ id: users.id }).from(users).where(eq(users.id, userId)).limit(1);
  if (!owner[0]) throw notFound(`User "${userId.slice(0, 64)}"`);
  return userId;
}

userRoutes.post("/:id/tokens", async (c) => {
  const userId = await userFromPath(c);
  const body = await readJson(c, CreateTokenSchema, { allowEmpty: true });
  const { view, token } = await mintToken(database(c.env), c.get("principal"), {
    userId,
    name: body.name,
    expiresInS: body.expires_in,
    maxActive: getConfig(c.env).quotas.tokensPerUser,
  });
  // The token is shown once, here; only its hash is stored.
  return c.json({ ...view, token }, 201);
});

userRoutes.get("/:id/tokens", async (c) => {
  const userId = await userFromPath(c);
  return c.json({ tokens: await listTokens(database(c.env), userId) });
});

userRoutes.all("/:id/tokens", methodNotAllowed("GET", "POST"));
