// Redaction of secrets from error text: our secret formats, bearer tokens, stored hashes, and failed queries' params.
import { describe, expect, it } from "vitest";
import { describeError, redactSecrets } from "../../../../edge/src/auth/redact.ts";

describe("redactSecrets", () => {
  it("replaces stream keys, API tokens, webhook secrets, node credentials, bearer tokens and 64-hex hashes", () => {
    const text = `key sk_AbCdEfGhIjKlMnOpQrStUvWxYz012345 token et_AbCdEfGhIjKlMnOpQrStUvWx-_12 whsec_AbCdEfGhIjKlMnOpQrStUvWxYz0123 nc_0123456789abcdefghij Authorization: Bearer abc.def hash ${"ab".repeat(32)}`;
    const out = redactSecrets(text);
    expect(out).toBe("key sk_[redacted] token et_[redacted] whsec_[redacted] nc_[redacted] Authorization: Bearer [redacted] hash [redacted-hash]");
    expect(redactSecrets("stream 0b6c5a2e-1c0d-4b8e-9a57-1c2d3e4f5a6b not found")).toBe("stream 0b6c5a2e-1c0d-4b8e-9a57-1c2d3e4f5a6b not found");
  });
});

describe("describeError", () => {
  it("keeps a failed query's SQL and its cause, never its parameters", () => {
    const cause = new Error("D1_ERROR: UNIQUE constraint failed: webhook_endpoints.id");
    const err = Object.assign(new Error("Failed query: insert into x values (?, ?)\nparams: 1,my-plain-secret"), {
      name: "DrizzleQueryError",
      query: "insert into x values (?, ?)",
      params: [1, "my-plain-secret"],
      cause,
    });
    const text = describeError(err);
    expect(text).toContain("Failed query: insert into x values (?, ?) (2 parameters withheld)");
    expect(text).toContain("caused by: Error: D1_ERROR: UNIQUE constraint failed");
    expect(text).not.toContain("my-plain-secret");
    expect(text).toMatch(/\n\s+at /);
    expect(describeError("plain string whsec_AbCdEfGhIjKlMnOpQrStUv")).toBe("plain string whsec_[redacted]");
    // After a Durable Object RPC only the message is left: its parameter list is cut all the same.
    const remote = new Error("Failed query: select 1 where x = ?\nparams: my-plain-secret,2");
    expect(describeError(remote)).toContain("Error: Failed query: select 1 where x = ?\nparams: [withheld]");
    expect(describeError(remote)).not.toContain("my-plain-secret");
  });
});
