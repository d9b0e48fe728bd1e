// Users and their API tokens: the admin creates users and mints tokens; a user may mint its own.
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env.ts";
import { requireAdmin, requireUser } from "../auth/principal.ts";
import { newSecret, sha256Hex } from "../auth/secrets.ts";
import { database } from "../db/client.ts";
import { apiTokens, users } from "../db/schema.ts";
import { notFound } from "../errors.ts";
import { limitJsonBody, readJson } from "../http/json-body.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";

const CreateUserSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  email: z.email().max(200).optional(),
});

const CreateTokenSchema = z.strictObject({
  name: z.string().trim().min(1).max(100).default("api"),
  /** Lifetime in seconds; omitted means the token does not expire. */
  expires_in: z.number().int().min(60).max(10 * 365 * 86400).optional(),
});

/** Prefix of every API token. */
export const API_TOKEN_PREFIX = "et";

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

userRoutes.post("/:id/tokens", async (c) => {
  const principal = c.get("principal");
  const userId = c.req.param("id");
  if (principal.role !== "admin" && principal.userId !== userId) throw notFound(`User "${userId.slice(0, 64)}"`);
  const body = await readJson(c, CreateTokenSchema, { allowEmpty: true });
  const db = database(c.env);
  const owner = await db.select({ id: users.id }).from(users).where(eq(users.id, userId)).limit(1);
  if (!owner[0]) throw notFound(`User "${userId.slice(0, 64)}"`);
  const token = newSecret(API_TOKEN_PREFIX);
  const expiresAt = body.expires_in ? new Date(Date.now() + body.expires_in * 1000).toISOString() : null;
  const id = crypto.randomUUID();
  await db.insert(apiTokens).values({ id, userId, name: body.name, tokenHash: await sha256Hex(token), expiresAt });
  // The token is shown once, here; only its hash is stored.
  return c.json({ token_id: id, user_id: userId, name: body.name, token, expires_at: expiresAt }, 201);
});

userRoutes.all("/:id/tokens", methodNotAllowed("POST"));
