// Media objects, put plans and a recording logger shared by the uploader tests.
import type { InitMeta, PartMeta, SegmentMeta } from "../../../../protocol/ingest.ts";
import { ingestPaths } from "../../../../protocol/ingest-paths.ts";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EdgeUploaderConfig } from "../../../../ingest-node/src/upload/edge-uploader.ts";
import { EdgeUploader } from "../../../../ingest-node/src/upload/edge-uploader.ts";
import type { MediaSink, UploadEvent, UploadLogger } from "../../../../ingest-node/src/upload/media-sink.ts";
import { afterEach, beforeEach, expect } from "vitest";
import { FakeEdge } from "./fake-edge.ts";

/** Stream ids (lowercase UUIDs, as the edge issues them). */
export const STREAM_A = "0f8fad5b-d9cb-469f-a165-70867728950e";
export const STREAM_B = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

/** The node's identity in every test. */
export const NODE = { nodeId: "test-node-1", credential: "node-secret-123" };

/** Init segment metadata. */
export function initMeta(epoch = 1): InitMeta {
  return { epoch, codecs: "avc1.42c01e,mp4a.40.2", width: 640, height: 360, bandwidth: 800_000, frame_rate: 30 };
}

/** Part metadata. */
export function partMeta(msn: number, part: number, epoch = 1): PartMeta {
  return { epoch, msn, part, duration: 0.5, independent: part === 0 };
}

/** Segment metadata. */
export function segmentMeta(msn: number, parts: number, epoch = 1): SegmentMeta {
  return { epoch, msn, duration: 2, program_date_time: new Date(Date.UTC(2026, 0, 1, 0, 0, msn * 2)).toISOString(), parts };
}

/** Deterministic bytes derived from a label, so the edge side can check what it got. */
export function bytesOf(label: string, size = 256): Uint8Array {
  const bytes = new Uint8Array(size);
  const seed = Buffer.from(label);
  for (let i = 0; i < size; i++) bytes[i] = (seed[i % seed.length] ?? 0) ^ (i & 0xff);
  return bytes;
}

/** One object to put, the path it must land on and the bytes it must carry. */
export interface PlannedPut {
  path: string;
  bytes: Uint8Array;
  msn: number | null;
  put: (sink: MediaSink) => Promise<void>;
}

/** Options of renditionPlan. */
export interface PlanOptions {
  segments: number;
  parts?: number;
  epoch?: number;
  firstMsn?: number;
  size?: number;
  init?: boolean;
}

/** The objects a rendition produces in order: init, then per segment its parts and the segment itself. */
export function renditionPlan(streamId: string, rendition: string, options: PlanOptions): PlannedPut[] {
  const { segments, parts = 0, epoch = 1, firstMsn = 0, size = 256, init = true } = options;
  const plan: PlannedPut[] = [];
  if (init) {
    const path = ingestPaths.init(streamId, rendition);
    const bytes = bytesOf(`${path}@${epoch}`, size);
    plan.push({ path, bytes, msn: null, put: (sink) => sink.putInit(streamId, rendition, initMeta(epoch), bytes) });
  }
  for (let msn = firstMsn; msn < firstMsn + segments; msn++) {
    for (let part = 0; part < parts; part++) {
      const path = ingestPaths.part(streamId, rendition, msn, part);
      const bytes = bytesOf(path, size);
      plan.push({ path, bytes, msn, put: (sink) => sink.putPart(streamId, rendition, partMeta(msn, part, epoch), bytes) });
    }
    const path = ingestPaths.segment(streamId, rendition, msn);
    const bytes = bytesOf(path, size);
    plan.push({ path, bytes, msn, put: (sink) => sink.putSegment(streamId, rendition, segmentMeta(msn, parts, epoch), bytes) });
  }
  return plan;
}

/** Puts several plans interleaved (one object of each in turn), as a pipeline with several renditions would. */
export async function putInterleaved(sink: MediaSink, plans: PlannedPut[][]): Promise<void> {
  const longest = Math.max(...plans.map((plan) => plan.length));
  for (let i = 0; i < longest; i++) {
    for (const plan of plans) {
      const item = plan[i];
      if (item) await item.put(sink);
    }
  }
}

/** The paths of `plan` in the order the edge acknowledged them. */
export function ackedInPlan(acked: string[], plan: PlannedPut[]): string[] {
  const wanted = new Set(plan.map((item) => item.path));
  return acked.filter((path) => wanted.has(path));
}

/** A logger that keeps its lines for assertions instead of printing them. */
export function recordingLogger(): UploadLogger & { lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  return {
    lines,
    info: (message, fields) => lines.push({ level: "info", message, fields }),
    warn: (message, fields) => lines.push({ level: "warn", message, fields }),
    error: (message, fields) => lines.push({ level: "error", message, fields }),
  };
}

/** A seeded PRNG (mulberry32), so a "random failures" run can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Resolves after `ms` real milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 10 ms until it holds, failing after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 5_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

/** A promise's outcome without awaiting it forever: "pending" if it has not settled within `ms`. */
export async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<"resolved" | "rejected" | "pending"> {
  return Promise.race([
    promise.then(
      () => "resolved" as const,
      () => "rejected" as const,
    ),
    delay(ms).then(() => "pending" as const),
  ]);
}

/** An uploader against `edgeUrl` with test-sized timings, a recording logger and an event list. */
export function testUploader(
  edgeUrl: string,
  spillDir: string,
  overrides: Partial<EdgeUploaderConfig> = {},
): { uploader: EdgeUploader; events: UploadEvent[]; logger: ReturnType<typeof recordingLogger> } {
  const events: UploadEvent[] = [];
  const logger = recordingLogger();
  const uploader = new EdgeUploader({
    edgeUrl,
    ...NODE,
    spillDir,
    requestTimeoutMs: 1_000,
    retry: { baseDelayMs: 10, maxDelayMs: 100 },
    fsync: false,
    logger,
    onEvent: (event) => events.push(event),
    ...overrides,
  });
  return { uploader, events, logger };
}

/** A fresh temporary directory for spill files. */
export function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "edgecast-upload-"));
}

/** Removes a temporary directory. */
export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/** Spill files (complete ones) in a directory. */
export async function spillFiles(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith(".obj")).sort();
}

/** What each uploader test gets afresh: a started fake edge, a spill directory, and uploaders closed after the test. */
export interface UploaderTestEnv {
  /** This test's fake edge. */
  edge: FakeEdge;
  /** This test's spill directory. */
  dir: string;
  /** An uploader (testUploader) against this test's edge and directory, closed without spilling after the test. */
  uploader(overrides?: Partial<EdgeUploaderConfig>): ReturnType<typeof testUploader>;
}

/** Registers beforeEach/afterEach that start a FakeEdge and make a spill directory per test, and tear them down. */
export function useUploaderTestEnv(): UploaderTestEnv {
  const open: EdgeUploader[] = [];
  const env: UploaderTestEnv = {
    edge: undefined as unknown as FakeEdge,
    dir: "",
    uploader(overrides = {}) {
      const made = testUploader(env.edge.url, env.dir, overrides);
      open.push(made.uploader);
      return made;
    },
  };
  beforeEach(async () => {
    env.edge = new FakeEdge();
    await env.edge.start();
    env.dir = await tempDir();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((u) => u.close({ spill: false })));
    await env.edge.stop();
    await removeDir(env.dir);
  });
  return env;
}

/** Expects each plan's objects acknowledged by `edge` in plan order and stored there byte for byte. */
export function expectAllInOrder(edge: FakeEdge, plans: PlannedPut[][], acked = edge.ackedPaths()): void {
  for (const plan of plans) {
    expect(ackedInPlan(acked, plan)).toEqual(plan.map((item) => item.path));
    for (const item of plan) expect(new Uint8Array(edge.objects.get(item.path) ?? [])).toEqual(item.bytes);
  }
}
