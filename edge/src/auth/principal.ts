// Bearer-token authentication for the control API: the admin token or a user's API token.
import { eq } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import type { AppContext, AppEnv, Principal } from "../app-env.ts";
import { type EdgeConfig, getConfig } from "../config.ts";
import { database } from "../db/client.ts";
import { apiTokens, users } from "../db/schema.ts";
import { AppError } from "../errors.ts";
import { constantTimeEqual, hashesEqual, sha256Hex } from "./secrets.ts";

/** Id of the built-in admin user (seeded by migration 0001) that ADMIN_TOKEN acts as. */
export const ADMIN_USER_ID = "00000000-0000-4000-8000-000000000001";

const unauthorized = (detail: string) => new AppError(401, "unauthorized", detail, { "www-authenticate": 'Bearer realm="edgecast"' });

/** Extracts the token from `Authorization: Bearer <token>`, or null. */
export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1] ?? null;
}

/** Who the token is, or why it is refused (the reason is told: a caller cannot learn a token from it). */
type Resolution = { principal: Principal } | { refused: "invalid" | "expired" | "revoked" };

async function resolvePrincipal(env: Env, token: string): Promise<Resolution> {
  if (env.ADMIN_TOKEN && (await constantTimeEqual(token, env.ADMIN_TOKEN))) {
    return { principal: { userId: ADMIN_USER_ID, role: "admin", tokenId: null, tokenExpiresAt: null } };
  }
  const hash = await sha256Hex(token);
  const rows = await database(env)
    .select({
      id: apiTokens.id,
      userId: apiTokens.userId,
      hash: apiTokens.tokenHash,
      expiresAt: apiTokens.expiresAt,
      revokedAt: apiTokens.revokedAt,
      role: users.role,
    })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(eq(apiTokens.tokenHash, hash))
    .limit(1);
  const row = rows[0];
  if (!row || !hashesEqual(row.hash, hash)) return { refused: "invalid" };
  // Read on every request, so a revocation takes effect at once.
  if (row.revokedAt) return { refused: "revoked" };
  if (row.expiresAt && Date.parse(row.expiresAt) <= Date.now()) return { refused: "expired" };
  return { principal: { userId: row.userId, role: row.role, tokenId: row.id, tokenExpiresAt: row.expiresAt } };
}

const REFUSALS = {
  invalid: "The bearer token is invalid.",
  expired: "The bearer token has expired.",
  revoked: "The bearer token has been revoked.",
} as const;

/** Middleware: 401 unless the request carries a valid bearer token; sets `principal`. */
export const requireUser = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  if (!token) throw unauthorized("Missing bearer token: send `Authorization: Bearer <token>`.");
  const resolution = await resolvePrincipal(c.env, token);
  if ("refused" in resolution) throw unauthorized(REFUSALS[resolution.refused]);
  c.set("principal", resolution.principal);
  await next();
});

/** Middleware: 403 unless the authenticated caller is the admin. */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  if (c.get("principal").role !== "admin") {
    throw new AppError(403, "forbidden", "Only the admin token may do this.");
  }
  await next();
});

/** The caller's limit of `quota` from the settings (MAX_*_PER_USER and the like); the admin, the operator, has none. */
export function quotaFor(c: AppContext, quota: keyof EdgeConfig["quotas"]): number {
  return c.get("principal").role === "admin" ? Infinity : getConfig(c.env).quotas[quota];
}
