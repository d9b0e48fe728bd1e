// Users and their API tokens. The admin creates users and mints, lists and revokes anyone's tokens. A user's token
// may mint, list and revoke tokens of its own user only; a token it mints never outlives it and is revoked with it.
// Mounted behind a bearer token (index.ts); creating a user also needs the admin's.
import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import type { AppContext } from "../app-env.ts";
import { listTokens, mintToken } from "../auth/api-tokens.ts";
import { requireAdmin } from "../auth/principal.ts";
import { getConfig } from "../config.ts";
import { database } from "../db/client.ts";
import { users } from "../db/schema.ts";
import { notFound } from "../errors.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";
import { apiRouter } from "../openapi/api-router.ts";
import { jsonBody, jsonBodyMiddleware } from "../openapi/json-request.ts";
import { problems } from "../openapi/problem.ts";
import { MintedTokenSchema, TokenListSchema, UserSchema } from "../openapi/schemas.ts";

const CreateUserSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    email: z.email().max(200).optional(),
  })
  .openapi("UserCreate");

const CreateTokenSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(100).default("api"),
    /** Lifetime in seconds; omitted means as long as the minting token (the admin's: no expiry). */
    expires_in: z
      .number()
      .int()
      .min(60)
      .max(10 * 365 * 86400)
      .optional(),
  })
  .openapi("TokenCreate");

const UserParams = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, format: "uuid" }) });
const security = [{ bearer: [] }];

/** Routes under /users. */
export const userRoutes = apiRouter();

const createUserRoute = createRoute({
  method: "post",
  path: "/",
  tags: ["Users and tokens"],
  summary: "Create a user (admin)",
  description: "A user sees only its own streams, VODs, clips and webhooks. Only ADMIN_TOKEN may create users.",
  security,
  middleware: [requireAdmin, ...jsonBodyMiddleware()],
  request: { body: jsonBody(CreateUserSchema) },
  responses: { 201: { description: "The new user", content: { "application/json": { schema: UserSchema } } }, ...problems(400, 401, 403, 413, 415) },
});

userRoutes.openapi(createUserRoute, async (c) => {
  const body = c.req.valid("json");
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

const mintTokenRoute = createRoute({
  method: "post",
  path: "/{id}/tokens",
  tags: ["Users and tokens"],
  summary: "Mint an API token",
  description:
    "The token is shown once, here. The admin mints for anyone, a user's token only for its own user. What an API token mints never outlives it (`expires_at` at most its own; omitted `expires_in` inherits it) and is revoked with it. 409 `quota_exceeded` past MAX_TOKENS_PER_USER active tokens. The body may be empty.",
  security,
  middleware: jsonBodyMiddleware({ allowEmpty: true }),
  request: { params: UserParams, body: jsonBody(CreateTokenSchema) },
  responses: {
    201: { description: "The token, with its secret", content: { "application/json": { schema: MintedTokenSchema } } },
    ...problems(400, 401, 404, 409, 413, 415),
  },
});

userRoutes.openapi(mintTokenRoute, async (c) => {
  const userId = await userFromPath(c);
  const body = c.req.valid("json");
  const { view, token } = await mintToken(database(c.env), c.get("principal"), {
    userId,
    name: body.name,
    expiresInS: body.expires_in,
    maxActive: getConfig(c.env).quotas.tokensPerUser,
  });
  // The token is shown once, here; only its hash is stored.
  return c.json({ ...view, token }, 201);
});

const listTokensRoute = createRoute({
  method: "get",
  path: "/{id}/tokens",
  tags: ["Users and tokens"],
  summary: "List a user's active tokens",
  description: "Never a secret or a hash: `hint` tells tokens apart.",
  security,
  request: { params: UserParams },
  responses: { 200: { description: "Active tokens", content: { "application/json": { schema: TokenListSchema } } }, ...problems(401, 404) },
});

userRoutes.openapi(listTokensRoute, async (c) => {
  const userId = await userFromPath(c);
  return c.json({ tokens: await listTokens(database(c.env), userId) }, 200);
});

userRoutes.all("/:id/tokens", methodNotAllowed("GET", "POST"));
