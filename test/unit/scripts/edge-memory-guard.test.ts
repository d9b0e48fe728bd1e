import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { DEFAULT_EDGE_MAX_RSS_MB, edgeMemorySettings, groupRssMiB, startEdgeMemoryGuard } from "../../../scripts/lib/edge-memory-guard.ts";

describe("edgeMemorySettings", () => {
  it("defaults, values from the environment, 0 turns the guard off, bad values refused with the setting's name", () => {
    expect(edgeMemorySettings({})).toEqual({ maxMiB: DEFAULT_EDGE_MAX_RSS_MB, intervalMs: 15_000 });
    expect(edgeMemorySettings({ EDGE_MAX_RSS_MB: "512", EDGE_MEMORY_CHECK_SECONDS: "2" })).toEqual({ maxMiB: 512, intervalMs: 2000 });
    expect(edgeMemorySettings({ EDGE_MAX_RSS_MB: "0" }).maxMiB).toBe(0);
    expect(() => edgeMemorySettings({ EDGE_MAX_RSS_MB: "1.5GB" })).toThrow(/^EDGE_MAX_RSS_MB must be an integer >= 0/);
    expect(() => edgeMemorySettings({ EDGE_MAX_RSS_MB: "-1" })).toThrow(/^EDGE_MAX_RSS_MB/);
    expect(() => edgeMemorySettings({ EDGE_MEMORY_CHECK_SECONDS: "0" })).toThrow(/^EDGE_MEMORY_CHECK_SECONDS must be an integer >= 1/);
  });
});

describe("startEdgeMemoryGuard", () => {
  it("restarts the edge only past the cap, one restart at a time", async () => {
    let rss = 100;
    const restarts: number[] = [];
    let finish: () => void = () => undefined;
    const guard = startEdgeMemoryGuard({
      maxMiB: 200,
      intervalMs: 3_600_000,
      rssMiB: () => rss,
      restart: (at) => {
        restarts.push(at);
        return new Promise<void>((resolve) => (finish = resolve));
      },
    });
    await guard.check();
    rss = 200;
    await guard.check();
    expect(restarts).toEqual([]);
    rss = 201;
    const first = guard.check();
    // While that restart runs, another check does nothing.
    await guard.check();
    expect(restarts).toEqual([201]);
    finish();
    await first;
    rss = 250;
    const second = guard.check();
    finish();
    await second;
    expect(restarts).toEqual([201, 250]);
    expect(guard.restarts()).toBe(2);
    guard.stop();
  });

  it("does nothing with EDGE_MAX_RSS_MB=0, and reports a failed restart", async () => {
    const off = startEdgeMemoryGuard({ maxMiB: 0, intervalMs: 1000, rssMiB: () => 1e9, restart: () => Promise.reject(new Error("never")) });
    await off.check();
    expect(off.restarts()).toBe(0);
    const errors: unknown[] = [];
    const failing = startEdgeMemoryGuard({
      maxMiB: 1,
      intervalMs: 3_600_000,
      rssMiB: () => 2,
      restart: () => Promise.reject(new Error("port taken")),
      onError: (e) => errors.push(e),
    });
    await failing.check();
    expect((errors[0] as Error).message).toBe("port taken");
    failing.stop();
  });

  it("checks on its own every interval", async () => {
    let restarted = 0;
    const guard = startEdgeMemoryGuard({
      maxMiB: 1,
      intervalMs: 20,
      rssMiB: () => 2,
      restart: async () => {
        restarted += 1;
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    guard.stop();
    expect(restarted).toBeGreaterThanOrEqual(2);
  });
});

describe("groupRssMiB", () => {
  it("sums the RSS of a process group's members of one command", async () => {
    const child = spawn("sleep", ["5"], { detached: true, stdio: "ignore" });
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(groupRssMiB(child.pid!, "sleep")).toBeGreaterThan(0);
      expect(groupRssMiB(child.pid!, "workerd")).toBe(0);
      expect(groupRssMiB(process.pid, "sleep")).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
