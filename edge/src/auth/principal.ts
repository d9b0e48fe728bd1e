// Bearer-token authentication for the control API: the admin token or a user's API token.
import { and, eq, isNull } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import type { AppEnv, Principal } from "../app-env.ts";
import { database } from "../db/client.ts";
import { apiTokens, users } from "../db/schema.ts";
import { AppError } from "../errors.ts";
import { constantTimeEqual, hashesEqual, sha256Hex } from "./secrets.ts";

/** Id of the built-in admin user (seeded by migration 0001) that ADMIN_TOKEN acts as. */
export const ADMIN_USER_ID = "00000000-0000-4000-8000-000000000001";

const unauthorized = (detail: string) =>
  new AppError(401, "unauthorized", detail, { "www-authenticate": 'Bearer realm="edgecast"' });

/** Extracts the token from `Authorization: Bearer <token>`, or null. */
export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1] ?? null;
}

async function resolvePrincipal(env: Env, token: string): Promise<Principal | null> {
  if (env.ADMIN_TOKEN && (await constantTimeEqual(token, env.ADMIN_TOKEN))) {
    return { userId: ADMIN_USER_ID, role: "admin" };
  }
  const hash = await sha256Hex(token);
  const rows = await database(env)
    .select({ userId: apiTokens.userId, hash: apiTokens.tokenHash, expiresAt: apiTokens.expiresAt, role: users.role })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(and(eq(apiTokens.tokenHash, hash), isNull(apiTokens.revokedAt)))
    .limit(1);
  const row = rows[0];
  if (!row || !hashesEqual(row.hash, hash)) return null;
  if (row.expiresAt && Date.parse(row.expiresAt) <= Date.now()) return null;
  return { userId: row.userId, role: row.role };
}

/** Middleware: 401 unless the request carries a valid bearer token; sets `principal`. */
export const requireUser = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  if (!token) throw unauthorized("Missing bearer token: send `Authorization: Bearer <token>`.");
  const principal = await resolvePrincipal(c.env, token);
  if (!principal) throw unauthorized("The bearer token is invalid, expired or revoked.");
  c.set("principal", principal);
  await next();
});

/** Middleware: 403 unless the authenticated caller is the admin. */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  if (c.get("principal").role !== "admin") {
    throw new AppError(403, "forbidden", "Only the admin token may do this.");
  }
  await next();
});
