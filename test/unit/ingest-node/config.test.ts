import { describe, expect, it } from "vitest";
import { DEFAULT_LADDER, TEST_LADDER } from "../../../protocol/ladder.ts";
import { loadConfig } from "../../../ingest-node/src/config.ts";

const env = { NODE_TOKEN: "node-token-123" };

describe("loadConfig: LADDER", () => {
  it("names the default and test ladders, default first", () => {
    expect(loadConfig(env).ladder).toEqual(DEFAULT_LADDER);
    expect(loadConfig({ ...env, LADDER: "test" }).ladder).toEqual(TEST_LADDER);
  });

  it("accepts passthrough from the env or a flag", () => {
    expect(loadConfig({ ...env, LADDER: "passthrough" }).ladder).toBe("passthrough");
    expect(loadConfig(env, ["--ladder", "passthrough"]).ladder).toBe("passthrough");
    expect(loadConfig({ ...env, LADDER: "test" }, ["--ladder=passthrough"]).ladder).toBe("passthrough");
  });

  it("accepts a JSON array of rungs", () => {
    const rungs = [{ name: "540p", height: 540, videoKbps: 2000, audioKbps: 128 }];
    expect(loadConfig({ ...env, LADDER: JSON.stringify(rungs) }).ladder).toEqual(rungs);
  });

  it("names what it expected for anything else", () => {
    expect(() => loadConfig({ ...env, LADDER: "passthru" })).toThrow(/LADDER: expected default, test, passthrough or a JSON array of rungs, got "passthru"/);
    expect(() => loadConfig({ ...env, LADDER: "toString" })).toThrow(/LADDER: expected/);
    expect(() => loadConfig({ ...env, LADDER: "[]" })).toThrow(/LADDER: /);
  });
});
