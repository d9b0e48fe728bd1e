import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { inspectHeap } from "../../../bench/node-heap.ts";
import { freePort } from "../../../scripts/lib/free-port.ts";

describe("inspectHeap", () => {
  it("reads a running process's heap next to its RSS, and a forced full GC frees its garbage", { timeout: 20_000 }, async () => {
    const port = await freePort();
    // ~40 MiB of arrays kept long enough to reach the old generation, then let go: garbage only a full GC frees (the
    // process allocates nothing more, so V8 has no reason to run one).
    const script =
      "let g = Array.from({ length: 200 }, (_, i) => new Array(25000).fill(i + 0.5)); setTimeout(() => { g = null; }, 300); setInterval(() => {}, 1000);";
    const child = spawn(process.execPath, [`--inspect-port=127.0.0.1:${port}`, "-e", script], {
      stdio: "ignore",
    });
    child.on("error", () => undefined);
    try {
      await new Promise((resolve) => setTimeout(resolve, 800));
      const inspector = await inspectHeap(child.pid!, port);
      const before = await inspector.sample();
      expect(before.rssMiB).toBeGreaterThan(before.heapUsedMiB);
      expect(before.heapUsedMiB).toBeGreaterThan(30);
      await inspector.collectGarbage();
      const after = await inspector.sample("after forced full GC");
      inspector.close();
      expect(after.tag).toBe("after forced full GC");
      expect(after.heapUsedMiB).toBeLessThan(before.heapUsedMiB - 30);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
