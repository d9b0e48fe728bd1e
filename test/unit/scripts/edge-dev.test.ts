import { describe, expect, it } from "vitest";
import { wranglerDevCommand } from "../../../scripts/lib/edge-dev.ts";

describe("the wrangler dev that npm start and the tests run", () => {
  const command = wranglerDevCommand({ port: 8787, persistTo: "/tmp/state", logLevel: "warn", vars: { ADMIN_TOKEN: "t" } });

  it("bounds V8's young generation and makes every GC a full one in every isolate of its workerd processes", () => {
    // Without these its two workerd processes grew by hundreds of MiB with traffic (docs/BENCHMARKS.md, "Memory over time").
    expect(command.env.MINIFLARE_WORKERD_V8_FLAGS?.split(" ")).toEqual(["--max-semi-space-size=1", "--gc-global"]);
  });

  it("runs without wrangler's local trace collector, which stores every request's spans and never prunes them", () => {
    expect(command.env.X_LOCAL_OBSERVABILITY).toBe("false");
  });

  it("binds 127.0.0.1 on the given port, keeps its state in persistTo and passes vars on", () => {
    expect(command.args.slice(0, 2)).toEqual(["wrangler", "dev"]);
    expect(command.args.join(" ")).toContain("--ip 127.0.0.1 --port 8787 --persist-to /tmp/state");
    expect(command.args.join(" ")).toContain("--log-level warn");
    expect(command.args.slice(-2)).toEqual(["--var", "ADMIN_TOKEN:t"]);
  });
});
