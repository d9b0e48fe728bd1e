// A D1 failure while a webhook endpoint is created: the answer is a generic 500 with a request id, and neither the
// answer nor any log line carries the signing secret (drizzle's error message lists every bound parameter).
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, newUser } from "../api.ts";
import { expectProblem } from "../playback-helpers.ts";

afterEach(async () => {
  vi.restoreAllMocks();
  await env.DB.prepare("drop trigger if exists provoke_webhook_failure").run();
});

describe("the D1 error path", () => {
  it("logs the failed query without its parameters: no webhook secret in the logs or the answer", async () => {
    const user = await newUser("d1 failure");
    await env.DB.prepare("create trigger provoke_webhook_failure before insert on webhook_endpoints begin select raise(abort, 'provoked failure'); end").run();
    const logged: string[] = [];
    for (const level of ["error", "warn", "log", "info", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation(
        (...args: unknown[]) => void logged.push(args.map((a) => (a instanceof Error ? `${a.stack} ${String(a.cause)}` : String(a))).join(" ")),
      );
    }
    const response = await call("POST", "/webhooks", { token: user.token, body: { url: "https://hooks.example.com/x" } });
    const problem = await expectProblem(response, 500);
    expect(problem.code).toBe("internal_error");
    const text = JSON.stringify(problem) + logged.join("\n");
    expect(text).not.toMatch(/whsec_[A-Za-z0-9_-]{8}/);
    expect(text).not.toContain(user.token);
    const line = logged.find((l) => l.includes("unhandled error"));
    // The log still says what failed: the query (without parameters), the request id, and D1's own message.
    expect(line).toContain(String(problem.request_id));
    expect(line).toMatch(/insert into "webhook_endpoints"/);
    expect(line).toMatch(/parameters withheld/);
    expect(line).toMatch(/provoked failure/);
  });
});
