// Reaped children's CPU from /proc/<pid>/stat: the fields after a command name with spaces and parentheses.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseReapedChildrenCpuMs, reapedChildrenCpuMs } from "../../../../ingest-node/src/worker/child-cpu.ts";

describe("reaped children CPU", () => {
  it("reads cutime and cstime after a command name with spaces and parentheses", () => {
    const stat = "4242 (node (worker) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 30 120 45 20 0 11 0 5000 1000000 2000";
    expect(parseReapedChildrenCpuMs(stat)).toBe(1_650);
  });

  it("grows by the CPU of a child this process waited for", () => {
    const before = reapedChildrenCpuMs();
    if (process.platform !== "linux") return expect(before).toBeNull();
    // A child that spins until it has used 300 ms of CPU (by its own clock, not the wall's: a loaded machine gives a
    // 300 ms wall-clock spin far less CPU).
    spawnSync(process.execPath, ["-e", "const s = process.cpuUsage(); let u; do u = process.cpuUsage(s); while (u.user + u.system < 300_000);"]);
    expect(reapedChildrenCpuMs()! - before!).toBeGreaterThanOrEqual(150);
  });
});
