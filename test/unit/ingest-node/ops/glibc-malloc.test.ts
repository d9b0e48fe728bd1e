// glibc's mmap threshold, fixed by the node at start-up, in a real process: once ~1 MiB blocks were mapped and freed
// (Node's own start-up does), glibc on its own serves the next ones from its heap (where freed memory mostly stays in the process); with the
// threshold fixed each one is a mapping of its own again, given back to the system when freed.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { mappedBlocks } from "../../../../ingest-node/src/ops/glibc-malloc.ts";

const moduleUrl = new URL("../../../../ingest-node/src/ops/glibc-malloc.ts", import.meta.url).href;

/** MiB of 16 new 1 MiB buffers that glibc mapped on their own, after one such buffer was mapped and freed. */
function mappedMiB(fixed: boolean): number {
  const script = `
    import { fixMmapThreshold, mappedBlocks } from ${JSON.stringify(moduleUrl)};
    if (${fixed} && !fixMmapThreshold()) throw new Error("mallopt refused");
    const settle = async () => { gc(); await new Promise((r) => setTimeout(r, 50)); gc(); };
    let first = Buffer.allocUnsafeSlow(1 << 20).fill(1);
    await settle();
    first = null;
    await settle();
    const before = mappedBlocks();
    const kept = Array.from({ length: 16 }, () => Buffer.allocUnsafeSlow(1 << 20).fill(1));
    const after = mappedBlocks();
    console.log(JSON.stringify({ mappedMiB: (after.bytes - before.bytes) / 1048576, kept: kept.length }));
  `;
  const run = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout.trim().split("\\n").at(-1)!).mappedMiB;
}

describe.runIf(mappedBlocks() !== null)("fixMmapThreshold (glibc)", () => {
  it("keeps large media-sized buffers in mappings of their own after one was freed", () => {
    // Without the fix glibc raised its threshold: the 16 buffers come from its heap (the test can fail).
    expect(mappedMiB(false)).toBeLessThan(4);
    // Fixed: most of them are mappings (glibc may fit a few in free heap space it already has).
    expect(mappedMiB(true)).toBeGreaterThanOrEqual(12);
  }, 30_000);
});
