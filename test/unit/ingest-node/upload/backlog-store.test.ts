// The backlog: bounded memory, spill to disk (atomic files), replay in order, recover() after a crash or a shutdown.
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ingestPaths } from "../../../../protocol/ingest-paths.ts";
import { BacklogStore } from "../../../../ingest-node/src/upload/backlog-store.ts";
import {
  STREAM_A,
  STREAM_B,
  bytesOf,
  expectAllInOrder,
  initMeta,
  putInterleaved,
  recordingLogger,
  renditionPlan,
  segmentMeta,
  spillFiles,
  useUploaderTestEnv,
  waitFor,
} from "./fixtures.ts";

const env = useUploaderTestEnv();

describe("BacklogStore", () => {
  it("keeps objects in memory up to the limit, spills the rest atomically, reads them back and deletes them", async () => {
    const store = new BacklogStore({ dir: env.dir, memoryLimitBytes: 2_000, logger: recordingLogger(), fsync: false });
    const entries = [0, 1, 2, 3].map((msn) =>
      store.add({ kind: "segment", streamId: STREAM_A, rendition: "360p", meta: segmentMeta(msn, 0), bytes: bytesOf(`s${msn}`, 800) }),
    );
    await Promise.all(entries.map((entry) => entry.writing));
    expect(store.metrics()).toEqual({ memoryObjects: 2, memoryBytes: 1_600, diskObjects: 2, diskBytes: 1_600, spillFailures: 0, lostObjects: 0 });
    const files = await spillFiles(env.dir);
    expect(files).toHaveLength(2);
    expect((await spillFiles(env.dir)).some((name) => name.endsWith(".tmp"))).toBe(false);
    expect(entries[2]?.bytes).toBeNull();
    expect(new Uint8Array(await store.load(entries[2] as (typeof entries)[number]))).toEqual(bytesOf("s2", 800));

    for (const entry of entries) await store.remove(entry);
    expect(await spillFiles(env.dir)).toEqual([]);
    expect(store.metrics()).toMatchObject({ memoryObjects: 0, memoryBytes: 0, diskObjects: 0, diskBytes: 0 });
  });

  it("keeps an object in memory when its spill write fails and memory has room again, and says so", async () => {
    const notADir = join(env.dir, "file");
    await writeFile(notADir, "x");
    const logger = recordingLogger();
    const store = new BacklogStore({ dir: notADir, memoryLimitBytes: 300, logger, fsync: false });
    const first = store.add({ kind: "thumbnail", streamId: STREAM_A, meta: { epoch: 1 }, bytes: bytesOf("first") });
    const entry = store.add({ kind: "thumbnail", streamId: STREAM_A, meta: { epoch: 1 }, bytes: bytesOf("jpeg") });
    expect(store.metrics()).toMatchObject({ memoryObjects: 1, diskObjects: 1 });
    // The first one is uploaded while the second is being written: its room is free before the write fails.
    void store.remove(first);
    await entry.writing;
    expect(store.metrics()).toMatchObject({ memoryObjects: 1, memoryBytes: 256, diskObjects: 0, spillFailures: 1, lostObjects: 0 });
    expect(await store.load(entry)).toEqual(bytesOf("jpeg"));
    expect(logger.lines.some((line) => line.level === "error" && line.message.includes("spill write failed"))).toBe(true);
  });

  it("gives the object up when its spill write fails and memory is full: memory never grows past its limit", async () => {
    const notADir = join(env.dir, "file");
    await writeFile(notADir, "x");
    const logger = recordingLogger();
    const store = new BacklogStore({ dir: notADir, memoryLimitBytes: 256, logger, fsync: false });
    const held = store.add({ kind: "thumbnail", streamId: STREAM_A, meta: { epoch: 1 }, bytes: bytesOf("held") });
    const entries = [0, 1, 2, 3].map((msn) =>
      store.add({ kind: "segment", streamId: STREAM_A, rendition: "360p", meta: segmentMeta(msn, 0), bytes: bytesOf(`s${msn}`) }),
    );
    await Promise.all(entries.map((entry) => entry.writing));
    expect(store.metrics()).toEqual({ memoryObjects: 1, memoryBytes: 256, diskObjects: 0, diskBytes: 0, spillFailures: 4, lostObjects: 4 });
    expect(entries.every((entry) => entry.lost && entry.bytes === null)).toBe(true);
    await expect(store.load(entries[0] as (typeof entries)[number])).rejects.toMatchObject({ code: "backlog_unreadable" });
    expect(await store.load(held)).toEqual(bytesOf("held"));
    expect(logger.lines.filter((line) => line.message.includes("memory backlog is full, object dropped"))).toHaveLength(4);
  });
});

describe("spilling uploader", () => {
  it("spills past the memory bound during an outage and replays from disk in order", { timeout: 10_000 }, async () => {
    let down = true;
    env.edge.respond = () => (down ? { kind: "status", status: 503 } : { kind: "store" });
    const { uploader: up } = env.uploader({ memoryLimitBytes: 4 * 1024 });
    const plans = [
      renditionPlan(STREAM_A, "360p", { segments: 4, parts: 2, size: 1024 }),
      renditionPlan(STREAM_A, "240p", { segments: 4, parts: 2, size: 1024 }),
    ];
    await putInterleaved(up, plans);
    const during = up.backlog();
    expect(during.memoryBytes).toBeLessThanOrEqual(4 * 1024);
    expect(during.memoryObjects).toBe(4);
    expect(during.diskObjects).toBe(26 - 4);
    expect(during.diskBytes).toBe(22 * 1024);
    expect(await spillFiles(env.dir)).toHaveLength(22);

    down = false;
    await up.flush(STREAM_A);
    expectAllInOrder(env.edge, plans);
    expect(up.backlog()).toMatchObject({ memoryObjects: 0, diskObjects: 0, diskBytes: 0, uploadedObjects: 26, failedObjects: 0 });
    expect(await spillFiles(env.dir)).toEqual([]);
  });

  it("recover(): a new uploader on the same directory replays what a crashed one spilled, in order", { timeout: 10_000 }, async () => {
    env.edge.respond = () => ({ kind: "status", status: 503 });
    const first = env.uploader({ memoryLimitBytes: 2 * 512 });
    const plans = [renditionPlan(STREAM_A, "360p", { segments: 3, parts: 2, size: 512 }), renditionPlan(STREAM_B, "360p", { segments: 3, size: 512 })];
    await putInterleaved(first.uploader, plans);
    await first.uploader.putThumbnail(STREAM_A, { epoch: 1 }, bytesOf("old-thumb", 512));
    await first.uploader.putThumbnail(STREAM_A, { epoch: 1 }, bytesOf("new-thumb", 512));
    // Two objects in memory (the first of each lane), the rest on disk; the crash loses what was only in memory.
    const onDisk = await spillFiles(env.dir);
    expect(onDisk.length).toBe(first.uploader.backlog().diskObjects);
    await first.uploader.close({ spill: false });
    // A crash can also leave a half-written temporary file and a damaged object.
    await writeFile(join(env.dir, "00000000000000001.obj.tmp"), "half");
    await writeFile(join(env.dir, "00000000000000002.obj"), "EUB1 not really");
    // And a `.corrupt` file an older version set aside.
    await writeFile(join(env.dir, "00000000000000003.obj.corrupt"), "old damage");

    env.edge.respond = () => ({ kind: "store" });
    const second = env.uploader();
    expect(await second.uploader.recover()).toBe(onDisk.length);
    await Promise.all([second.uploader.flush(STREAM_A), second.uploader.flush(STREAM_B)]);

    const memoryOnly = new Set([plans[0]?.[0]?.path, plans[1]?.[0]?.path]);
    expectAllInOrder(
      env.edge,
      plans.map((plan) => plan.filter((item) => !memoryOnly.has(item.path))),
    );
    for (const path of memoryOnly) expect(env.edge.objects.has(path as string)).toBe(false);
    expect(new Uint8Array(env.edge.objects.get(ingestPaths.thumbnail(STREAM_A)) ?? [])).toEqual(bytesOf("new-thumb", 512));
    expect(second.uploader.backlog()).toMatchObject({ diskObjects: 0, failedObjects: 1, supersededObjects: 1 });
    expect(second.logger.lines.some((line) => line.level === "error" && line.message.includes("unreadable"))).toBe(true);
    expect((await spillFiles(env.dir)).length).toBe(0);
    // The damaged file is logged and deleted (not set aside as `.corrupt`, which would fill the disk over time).
    expect(await readdir(env.dir)).toEqual([]);
  });

  it("close() spills what is still in memory, so a restart loses nothing", { timeout: 10_000 }, async () => {
    env.edge.respond = () => ({ kind: "status", status: 503 });
    const first = env.uploader();
    const plans = [renditionPlan(STREAM_A, "360p", { segments: 3, parts: 2 }), renditionPlan(STREAM_A, "240p", { segments: 3 })];
    await putInterleaved(first.uploader, plans);
    await waitFor(() => first.uploader.backlog().retries > 2, 5_000, "the outage to be noticed");
    expect(first.uploader.backlog().diskObjects).toBe(0);
    const flush = first.uploader.flush(STREAM_A).then(
      () => null,
      (error: unknown) => error,
    );
    await first.uploader.close();
    expect(await flush).toMatchObject({ code: "uploader_closed" });
    expect(await spillFiles(env.dir)).toHaveLength(plans.flat().length);

    env.edge.respond = () => ({ kind: "store" });
    const second = env.uploader();
    expect(await second.uploader.recover()).toBe(plans.flat().length);
    await second.uploader.flush(STREAM_A);
    expectAllInOrder(env.edge, plans);
    expect(await spillFiles(env.dir)).toEqual([]);
  });

  it("recover() must come before the first put", async () => {
    const { uploader: up } = env.uploader();
    await up.putInit(STREAM_A, "360p", initMeta(), bytesOf("init"));
    await expect(up.recover()).rejects.toMatchObject({ code: "uploader_state" });
  });
});
