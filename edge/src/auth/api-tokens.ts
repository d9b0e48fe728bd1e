// API tokens in D1: minting (bounded by the minting token and the user's quota), listing without secrets, and
// revocation of a token together with every token minted through it.
import { and, desc, eq, gt, isNull, or, sql } from "drizzle-orm";
import type { Principal } from "../app-env.ts";
import type { Database } from "../db/client.ts";
import { fewerThan, insertWhere } from "../db/conditional-insert.ts";
import { apiTokens } from "../db/schema.ts";
import { AppError, quotaExceeded } from "../errors.ts";
import { newSecret, sha256Hex } from "./secrets.ts";

/** Prefix of every API token. */
export const API_TOKEN_PREFIX = "et";

/** A token as listings show it: never the secret or its hash. */
export interface TokenView {
  token_id: string;
  user_id: string;
  name: string;
  /** `et_…` and the last 4 characters: enough to tell tokens apart, never to use one. */
  hint: string | null;
  created_at: string;
  expires_at: string | null;
  /** The API token this one was minted with (null: minted with ADMIN_TOKEN). */
  minted_by: string | null;
}

type TokenRow = typeof apiTokens.$inferSelect;

function view(row: TokenRow): TokenView {
  return {
    token_id: row.id,
    user_id: row.userId,
    name: row.name,
    hint: row.hint ? `${API_TOKEN_PREFIX}_…${row.hint}` : null,
    created_at: row.createdAt,
    expires_at: row.expiresAt,
    minted_by: row.parentTokenId,
  };
}

/** Condition: the token is neither revoked nor expired. */
function active(nowIso: string) {
  return and(isNull(apiTokens.revokedAt), or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, nowIso)));
}

/**
 * When a token minted now by `minter` expires: the requested lifetime, but never after the minting token (a
 * credential can do only what its holder may, so it cannot hand out one that outlives itself). Null: never.
 */
export function mintedExpiry(minter: Principal, expiresInS: number | undefined, now: number): string | null {
  const requested = expiresInS === undefined ? null : now + expiresInS * 1000;
  const cap = minter.tokenExpiresAt ? Date.parse(minter.tokenExpiresAt) : null;
  const expires = requested === null ? cap : cap === null ? requested : Math.min(requested, cap);
  return expires === null ? null : new Date(expires).toISOString();
}

/**
 * Mints a token for `userId` on behalf of `minter`; returns its view and the secret (shown once). One statement
 * checks, as it inserts, that the user has fewer than `maxActive` active tokens (the admin is exempt) and that the
 * minting token is still unrevoked, so neither a race for the last slot nor a revocation in flight lets one through.
 */
export async function mintToken(
  db: Database,
  minter: Principal,
  input: { userId: string; name: string; expiresInS?: number; maxActive: number },
): Promise<{ view: TokenView; token: string }> {
  const now = Date.now();
  const nowIso = new Date(now).toISOString();
  const token = newSecret(API_TOKEN_PREFIX);
  // Any API token, an admin-role one too, is the parent of what it mints; only ADMIN_TOKEN itself (no row) is none.
  const parent = minter.tokenId ?? null;
  const quota = fewerThan(apiTokens, and(eq(apiTokens.userId, input.userId), active(nowIso))!, minter.role === "admin" ? Infinity : input.maxActive);
  const parentAlive = parent ? sql`exists (select 1 from ${apiTokens} where ${and(eq(apiTokens.id, parent), isNull(apiTokens.revokedAt))})` : sql`1`;
  const rows = await insertWhere(
    db,
    apiTokens,
    {
      id: crypto.randomUUID(),
      userId: input.userId,
      name: input.name,
      tokenHash: await sha256Hex(token),
      hint: token.slice(-4),
      parentTokenId: parent,
      createdAt: nowIso,
      expiresAt: mintedExpiry(minter, input.expiresInS, now),
    },
    sql`${quota} and ${parentAlive}`,
  ).returning();
  const row = rows[0];
  if (!row) {
    if (parent) {
      const [still] = await db
        .select({ id: apiTokens.id })
        .from(apiTokens)
        .where(and(eq(apiTokens.id, parent), isNull(apiTokens.revokedAt)));
      if (!still) throw new AppError(401, "unauthorized", "The bearer token has been revoked.");
    }
    throw quotaExceeded("active API tokens", input.maxActive, "MAX_TOKENS_PER_USER");
  }
  return { view: view(row), token };
}

/** The user's active tokens, newest first (at most the quota's worth, plus what the admin minted beyond it). */
export async function listTokens(db: Database, userId: string): Promise<TokenView[]> {
  const rows = await db
    .select()
    .from(apiTokens)
    .where(and(eq(apiTokens.userId, userId), active(new Date().toISOString())))
    .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id))
    .limit(1000);
  return rows.map(view);
}

/** The token `id` if `principal` may manage it (its owner or the admin), else null. */
export async function findToken(db: Database, principal: Principal, id: string): Promise<TokenRow | null> {
  const owner = principal.role === "admin" ? undefined : eq(apiTokens.userId, principal.userId);
  const rows = await db
    .select()
    .from(apiTokens)
    .where(and(eq(apiTokens.id, id), owner))
    .limit(1);
  return rows[0] ?? null;
}

/** Revokes the token and, transitively, every token minted through it; returns how many were revoked. */
export async function revokeToken(db: Database, id: string): Promise<number> {
  const now = new Date().toISOString();
  const result = await db.run(sql`
    with recursive minted(id) as (
      select ${id}
      union
      select ${apiTokens.id} from ${apiTokens} join minted on ${apiTokens.parentTokenId} = minted.id
    )
    update ${apiTokens} set revoked_at = ${now} where id in (select id from minted) and revoked_at is null`);
  return result.meta.changes ?? 0;
}
