// tcmalloc-stats reads workerd's allocator split from tcmalloc's statistics page (the fixture is the head of a real page
// read from workerd with gdb).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseTcmallocPage } from "../../../bench/tcmalloc-stats.ts";

const page = readFileSync(join(import.meta.dirname, "../../fixtures/bench/tcmalloc-stats-page.txt"), "utf8");

describe("parseTcmallocPage", () => {
  it("splits the memory into in use, free lists (page heap apart), metadata, resident, peak and released", () => {
    expect(parseTcmallocPage(page)).toEqual({
      inUseMiB: 76,
      // page heap 52.9 + central 3.1 + transfer 4.9 + thread caches 7.1 (per-CPU and sharded 0)
      freeListsMiB: 68,
      pageHeapFreeMiB: 52.9,
      releasedMiB: 14,
      metadataMiB: 2.9,
      residentMiB: 146.9,
      peakMiB: 169.7,
    });
  });

  it("reads zeros from a page without MALLOC lines rather than inventing figures", () => {
    expect(parseTcmallocPage("no statistics here").inUseMiB).toBe(0);
  });
});
