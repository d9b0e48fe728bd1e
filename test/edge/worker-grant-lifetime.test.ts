import { describe, expect, it } from "vitest";
import { getConfig } from "../../edge/src/config.ts";

const config = (vars: Record<string, string>) => getConfig(vars as unknown as Env);

describe("WORKER_GRANT_LIFETIME_S", () => {
  it("defaults to 15 minutes and takes any lifetime a heartbeat can renew in time", () => {
    expect(config({}).workerGrantLifetimeSeconds).toBe(900);
    expect(config({ WORKER_GRANT_LIFETIME_S: "10" }).workerGrantLifetimeSeconds).toBe(10);
  });

  it("refuses lifetimes under 10 s (heartbeats are 2 s apart) and garbage, naming the setting", () => {
    expect(() => config({ WORKER_GRANT_LIFETIME_S: "9" })).toThrow(/WORKER_GRANT_LIFETIME_S must be at least 10/);
    expect(() => config({ WORKER_GRANT_LIFETIME_S: "soon" })).toThrow(/WORKER_GRANT_LIFETIME_S must be a positive integer/);
  });
});
