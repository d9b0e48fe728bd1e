import { describe, expect, it } from "vitest";
import { signWorkerGrant, verifyWorkerGrant } from "../../../../edge/src/auth/worker-grant.ts";

const SECRET = "worker-grant-test-secret";
const STREAM = "0b6f3c1e-8d2a-4c7e-9f10-2a3b4c5d6e7f";
const NOW = 1_800_000_000_000;
const grant = { streamId: STREAM, epoch: 4, renditions: ["360p", "240p"], exp: NOW / 1000 + 60 };

describe("worker grants", () => {
  it("verify with their scope under the secret that signed them", async () => {
    const token = await signWorkerGrant(SECRET, grant);
    expect(token).toMatch(/^wg1\./);
    expect(await verifyWorkerGrant(SECRET, token, NOW)).toEqual({ ok: true, grant });
  });

  it("refuse a forged scope, another secret, no secret, garbage and expiry", async () => {
    const token = await signWorkerGrant(SECRET, grant);
    const [, payload, mac] = token.split(".");
    const forgedPayload = Buffer.from(JSON.stringify({ s: STREAM, e: 5, r: ["360p"], x: grant.exp })).toString("base64url");
    expect(await verifyWorkerGrant(SECRET, `wg1.${forgedPayload}.${mac}`, NOW)).toEqual({ ok: false, reason: "invalid" });
    expect(await verifyWorkerGrant("another-secret", token, NOW)).toEqual({ ok: false, reason: "invalid" });
    expect(await verifyWorkerGrant(undefined, token, NOW)).toEqual({ ok: false, reason: "invalid" });
    expect(await verifyWorkerGrant(SECRET, `wg1.${payload}.${"A".repeat(43)}`, NOW)).toEqual({ ok: false, reason: "invalid" });
    expect(await verifyWorkerGrant(SECRET, "not-a-grant", NOW)).toEqual({ ok: false, reason: "malformed" });
    expect(await verifyWorkerGrant(SECRET, undefined, NOW)).toEqual({ ok: false, reason: "missing" });
    expect(await verifyWorkerGrant(SECRET, token, grant.exp * 1000)).toEqual({ ok: false, reason: "expired" });
  });
});
