// API tokens: optional expiry, listing without secrets, revocation (with everything minted through the token), a
// minted token never outliving its minter, and the per-user quota of active tokens, enforced without a race.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../../edge/src/index.ts";
import { call, callJson, newUser } from "../api.ts";
import { expectProblem } from "../playback-helpers.ts";

interface Minted {
  token_id: string;
  user_id: string;
  name: string;
  token: string;
  hint: string;
  created_at: string;
  expires_at: string | null;
  minted_by: string | null;
}

function mint(userId: string, token: string | undefined, body: Record<string, unknown> = {}): Promise<Minted> {
  return callJson<Minted>("POST", `/users/${userId}/tokens`, 201, { token, body });
}

/** GET /streams as a cheap "does this token work" probe. */
function probe(token: string): Promise<Response> {
  return call("GET", "/streams", { token });
}

describe("token expiry", () => {
  it('expires_in sets expires_at; an expired token is 401 "expired"', async () => {
    const user = await newUser("expiring");
    const before = Date.now();
    const minted = await mint(user.userId, undefined, { name: "ci", expires_in: 3600 });
    const expires = Date.parse(minted.expires_at!);
    expect(expires).toBeGreaterThanOrEqual(before + 3_600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3_600_000 + 1000);
    expect((await probe(minted.token)).status).toBe(200);
    await env.DB.prepare("update api_tokens set expires_at = ? where id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), minted.token_id)
      .run();
    const problem = await expectProblem(await probe(minted.token), 401, /expired/);
    expect(problem.code).toBe("unauthorized");
    await expectProblem(await probe(`${minted.token}x`), 401, /invalid/);
  });

  it("a minted token never outlives the token that minted it", async () => {
    const user = await newUser("chain");
    const parent = await mint(user.userId, undefined, { expires_in: 3600 });
    const longer = await mint(user.userId, parent.token, { expires_in: 7 * 86400 });
    expect(longer.expires_at).toBe(parent.expires_at);
    expect(longer.minted_by).toBe(parent.token_id);
    const unspecified = await mint(user.userId, parent.token);
    expect(unspecified.expires_at).toBe(parent.expires_at);
    const shorter = await mint(user.userId, parent.token, { expires_in: 600 });
    expect(Date.parse(shorter.expires_at!)).toBeLessThan(Date.parse(parent.expires_at!));
    // The admin's tokens have no expiry of their own: what it mints without expires_in never expires.
    expect((await mint(user.userId, undefined)).expires_at).toBeNull();
    // An API token of the admin user acts as the admin, yet what it mints still ends with it and goes with it.
    const adminToken = await mint("00000000-0000-4000-8000-000000000001", undefined, { expires_in: 3600 });
    const delegated = await mint(user.userId, adminToken.token);
    expect(delegated.expires_at).toBe(adminToken.expires_at);
    expect(delegated.minted_by).toBe(adminToken.token_id);
    expect((await call("DELETE", `/tokens/${adminToken.token_id}`)).status).toBe(204);
    await expectProblem(await probe(delegated.token), 401, /revoked/);
    // A user token mints only for its own user.
    const other = await newUser("other");
    await expectProblem(await call("POST", `/users/${other.userId}/tokens`, { token: parent.token, body: {} }), 404);
  });
});

describe("GET /users/:id/tokens", () => {
  it("lists active tokens with a hint, never a secret or a hash; others get 404", async () => {
    const user = await newUser("lister");
    const a = await mint(user.userId, user.token, { name: "laptop" });
    const listed = await callJson<{ tokens: Record<string, unknown>[] }>("GET", `/users/${user.userId}/tokens`, 200, { token: user.token });
    const ids = listed.tokens.map((t) => t.token_id);
    expect(ids).toContain(a.token_id);
    expect(listed.tokens).toHaveLength(2); // newUser's own token and "laptop"
    const row = listed.tokens.find((t) => t.token_id === a.token_id)!;
    expect(Object.keys(row).sort()).toEqual(["created_at", "expires_at", "hint", "minted_by", "name", "token_id", "user_id"]);
    expect(row.hint).toBe(`et_…${a.token.slice(-4)}`);
    const text = JSON.stringify(listed);
    const [hash] = await env.DB.prepare("select token_hash from api_tokens where id = ?").bind(a.token_id).raw<[string]>();
    expect(text).not.toContain(a.token);
    expect(text).not.toContain(a.token.slice(3, 20));
    expect(text).not.toContain(hash![0]);
    const stranger = await newUser("stranger");
    await expectProblem(await call("GET", `/users/${user.userId}/tokens`, { token: stranger.token }), 404);
    expect((await callJson<{ tokens: unknown[] }>("GET", `/users/${user.userId}/tokens`, 200)).tokens).toHaveLength(2);
    expect((await call("PUT", `/users/${user.userId}/tokens`, { token: user.token })).status).toBe(405);
  });
});

describe("DELETE /tokens/:id", () => {
  it("revokes at once, takes what the token minted with it, and is the owner's or the admin's to do", async () => {
    const user = await newUser("revoker");
    const parent = await mint(user.userId, user.token);
    const child = await mint(user.userId, parent.token);
    const grandchild = await mint(user.userId, child.token);
    const sibling = await mint(user.userId, user.token);
    const stranger = await newUser("stranger");
    await expectProblem(await call("DELETE", `/tokens/${parent.token_id}`, { token: stranger.token }), 404);
    await expectProblem(await call("DELETE", "/tokens/not-a-token", { token: user.token }), 404);

    expect((await call("DELETE", `/tokens/${parent.token_id}`, { token: user.token })).status).toBe(204);
    for (const revoked of [parent, child, grandchild]) await expectProblem(await probe(revoked.token), 401, /revoked/);
    expect((await probe(sibling.token)).status).toBe(200);
    expect((await probe(user.token)).status).toBe(200);
    await expectProblem(await call("DELETE", `/tokens/${parent.token_id}`, { token: user.token }), 404);
    const listed = await callJson<{ tokens: { token_id: string }[] }>("GET", `/users/${user.userId}/tokens`, 200, { token: user.token });
    expect(listed.tokens.map((t) => t.token_id).sort()).toEqual([sibling.token_id, await tokenIdOf(user.token)].sort());
    // A revoked token can mint nothing more.
    await expectProblem(await call("POST", `/users/${user.userId}/tokens`, { token: child.token, body: {} }), 401, /revoked/);
    // The admin may revoke anyone's; a token may revoke itself.
    expect((await call("DELETE", `/tokens/${sibling.token_id}`)).status).toBe(204);
    expect((await call("DELETE", `/tokens/${await tokenIdOf(user.token)}`, { token: user.token })).status).toBe(204);
    await expectProblem(await probe(user.token), 401, /revoked/);
    expect((await call("GET", `/tokens/${sibling.token_id}`)).status).toBe(405);
  });
});

async function tokenIdOf(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  const hash = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const row = await env.DB.prepare("select id from api_tokens where token_hash = ?").bind(hash).first<{ id: string }>();
  return row!.id;
}

describe("MAX_TOKENS_PER_USER", () => {
  it("caps a user's active tokens, also when requests race for the last slots; the admin is exempt", async () => {
    const limited = { ...env, MAX_TOKENS_PER_USER: "3" } as Env;
    const user = await newUser("quota"); // 1 active token
    const post = (token: string) =>
      worker.fetch(
        new Request(`https://edge.test/users/${user.userId}/tokens`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: "{}",
        }),
        limited,
        createExecutionContext(),
      );
    const answers = await Promise.all(Array.from({ length: 6 }, () => post(user.token)));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 409, 409, 409, 409]);
    const refused = answers.find((r) => r.status === 409)!;
    const problem = await expectProblem(refused, 409, /at most 3 active API tokens \(MAX_TOKENS_PER_USER\)/);
    expect(problem.code).toBe("quota_exceeded");
    // Revoking one frees a slot; the admin may mint beyond the quota.
    const minted = (await answers.find((r) => r.status === 201)!.json()) as Minted;
    expect((await call("DELETE", `/tokens/${minted.token_id}`, { token: user.token })).status).toBe(204);
    expect((await post(user.token)).status).toBe(201);
    expect((await post("test-admin-token")).status).toBe(201);
  });
});
