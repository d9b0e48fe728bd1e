// The backlog's hard cap: memory (MEMORY_BACKLOG_MB) plus spool (SPOOL_MAX_MB) never grow past their limits in an
// outage; the oldest media of the stream with the largest backlog is dropped, whole segments at a time, and counted.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ingestPaths } from "../../../../protocol/ingest-paths.ts";
import { loadConfig } from "../../../../ingest-node/src/config.ts";
import { STREAM_A, STREAM_B, bytesOf, expectAllInOrder, initMeta, renditionPlan, segmentMeta, spillFiles, useUploaderTestEnv, waitFor } from "./fixtures.ts";

const env = useUploaderTestEnv();

describe("spool cap", () => {
  it("drops the oldest segments of the largest backlog at the cap, counts them, and delivers the rest in order", { timeout: 10_000 }, async () => {
    let down = true;
    env.edge.respond = () => (down ? { kind: "status", status: 503 } : { kind: "store" });
    // 4 objects in memory, 16 on disk: 20 of the 34 objects below fit.
    const { uploader: up, logger } = env.uploader({ memoryLimitBytes: 1024, diskLimitBytes: 4096 });
    const small = renditionPlan(STREAM_B, "360p", { segments: 2 });
    const large = renditionPlan(STREAM_A, "360p", { segments: 10, parts: 2 });
    let peakMemory = 0;
    let peakDisk = 0;
    let peakFiles = 0;
    for (const item of [...small, ...large]) {
      await item.put(up);
      const backlog = up.backlog();
      peakMemory = Math.max(peakMemory, backlog.memoryBytes);
      peakDisk = Math.max(peakDisk, backlog.diskBytes);
      peakFiles = Math.max(peakFiles, (await spillFiles(env.dir)).length);
    }
    expect(peakMemory).toBeLessThanOrEqual(1024);
    expect(peakDisk).toBeLessThanOrEqual(4096);
    expect(peakFiles).toBeLessThanOrEqual(16);
    // 14 objects too many: five whole segments of A (two parts and the segment each) go, oldest first.
    expect(up.backlog().droppedObjects).toBe(15);
    expect(up.pending(STREAM_A).dropped).toBe(15);
    expect(up.pending(STREAM_B)).toMatchObject({ dropped: 0, objects: 3 });
    expect(logger.lines.some((line) => line.level === "warn" && line.message.includes("oldest media dropped"))).toBe(true);

    down = false;
    await Promise.all([up.flush(STREAM_A), up.flush(STREAM_B)]);
    const kept = large.filter((item) => item.msn === null || item.msn >= 5);
    expectAllInOrder(env.edge, [small, kept]);
    for (const item of large.filter((candidate) => candidate.msn !== null && candidate.msn < 5)) {
      expect(env.edge.objects.has(item.path)).toBe(false);
    }
    // The init segment stayed: every later object of the rendition needs it.
    expect(env.edge.objects.has(ingestPaths.init(STREAM_A, "360p"))).toBe(true);
    expect(up.backlog()).toMatchObject({ memoryObjects: 0, diskObjects: 0, droppedObjects: 15, failedObjects: 0 });
    expect(await spillFiles(env.dir)).toEqual([]);
  });

  it("gives up the newest object when nothing older may go (only init segments and requests in flight)", { timeout: 5_000 }, async () => {
    env.edge.respond = () => ({ kind: "status", status: 503 });
    const { uploader: up } = env.uploader({ memoryLimitBytes: 512, diskLimitBytes: 256 });
    await up.putInit(STREAM_A, "360p", initMeta(), bytesOf("a-init"));
    await up.putInit(STREAM_A, "240p", initMeta(), bytesOf("a-init-240"));
    await up.putInit(STREAM_B, "360p", initMeta(), bytesOf("b-init"));
    await waitFor(() => env.edge.requests.length >= 3, 2_000, "the three inits in flight");
    await up.putSegment(STREAM_B, "360p", segmentMeta(0, 0), bytesOf("b-seg"));
    expect(up.backlog()).toMatchObject({ memoryBytes: 512, diskBytes: 256, droppedObjects: 1 });
    expect(up.pending(STREAM_B)).toMatchObject({ objects: 1, dropped: 1 });
    expect(up.pending(STREAM_A)).toMatchObject({ objects: 2, dropped: 0 });
  });

  it("does not fall back to unbounded memory when the spool cannot be written", { timeout: 10_000 }, async () => {
    let down = true;
    env.edge.respond = () => (down ? { kind: "status", status: 503 } : { kind: "store" });
    const notADir = join(env.dir, "file");
    await writeFile(notADir, "x");
    const { uploader: up, logger } = env.uploader({ spillDir: notADir, memoryLimitBytes: 1024 });
    const plan = renditionPlan(STREAM_A, "360p", { segments: 12 });
    let peakMemory = 0;
    for (const item of plan) {
      await item.put(up);
      peakMemory = Math.max(peakMemory, up.backlog().memoryBytes);
    }
    expect(peakMemory).toBeLessThanOrEqual(1024);
    const backlog = up.backlog();
    expect(backlog.spillFailures).toBe(plan.length - 4);
    expect(backlog.lostObjects).toBe(plan.length - 4);
    expect(backlog.droppedObjects).toBe(plan.length - 4);
    expect(up.pending(STREAM_A)).toMatchObject({ objects: 4, dropped: plan.length - 4 });
    expect(logger.lines.some((line) => line.message.includes("memory backlog is full, object dropped"))).toBe(true);

    down = false;
    await up.flush(STREAM_A);
    expectAllInOrder(env.edge, [plan.slice(0, 4)]);
    expect(env.edge.ackedPaths()).toHaveLength(4);
  });

  it("is the node's SPOOL_MAX_MB setting (default 1024 MiB)", () => {
    const base = { NODE_TOKEN: "node-secret-123" };
    expect(loadConfig(base).spoolMaxBytes).toBe(1024 * 1024 * 1024);
    expect(loadConfig({ ...base, SPOOL_MAX_MB: "2" }).spoolMaxBytes).toBe(2 * 1024 * 1024);
    expect(() => loadConfig({ ...base, SPOOL_MAX_MB: "0" })).toThrow(/SPOOL_MAX_MB/);
  });
});
