// The fragment streams against a real redis-server (its own port, no disk): what the node appends is what a worker
// reads, the stream expires, and a worker gives up (falls back to the edge) within its bounds.
import { type ChildProcess, spawn } from "node:child_process";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FragmentReadOptions, RedisFragmentSink, readSegmentFragments } from "../../../../ingest-node/src/queue/fragment-stream.ts";
import type { ReadStep } from "../../../../ingest-node/src/queue/segment-fragments.ts";
import { freePort } from "../../../../scripts/lib/free-port.ts";

let server: ChildProcess;
let url: string;
let admin: Redis;

beforeAll(async () => {
  const port = await freePort();
  server = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  url = `redis://127.0.0.1:${port}`;
  admin = new Redis(url, { retryStrategy: () => 50 });
  // Refused until redis-server listens: it retries.
  admin.on("error", () => undefined);
  for (let i = 0; i < 100 && admin.status !== "ready"; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(admin.status).toBe("ready");
});

afterAll(() => {
  admin?.disconnect();
  server?.kill("SIGKILL");
});

async function readAll(key: string, options: FragmentReadOptions, redisUrl = url): Promise<ReadStep[]> {
  const steps: ReadStep[] = [];
  for await (const step of readSegmentFragments(redisUrl, key, options)) steps.push(step);
  return steps;
}

/** A sink that answers once its connection is up. */
async function readySink(): Promise<RedisFragmentSink> {
  const sink = new RedisFragmentSink(url);
  for (let i = 0; i < 100; i++) {
    try {
      await sink.append("edgecast:test:probe", { kind: "abort", reason: "not_cut" }, null);
      return sink;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error("the sink never connected");
}

describe("fragment streams on Redis", () => {
  it("give a reader the node's entries as they are appended, bytes untouched, and expire at the given time", async () => {
    const sink = await readySink();
    try {
      const key = "edgecast:test:segment-1";
      await sink.append(key, { kind: "init", bytes: new Uint8Array([1, 2, 3]) }, Date.now() + 60_000);
      // The reader starts before the rest is there: it waits for each entry.
      const reading = readAll(key, { waitMs: 2_000, maxBytes: 1_000 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      await sink.append(key, { kind: "fragment", index: 0, bytes: Buffer.from([4, 5]) }, null);
      await sink.append(key, { kind: "fragment", index: 1, bytes: new Uint8Array([6, 7, 8]).subarray(1) }, null);
      await sink.append(key, { kind: "end", count: 2, duration: 2.002, cutAt: 1234 }, Date.now() + 30_000);
      const steps = await reading;
      expect(steps.map((s) => ("bytes" in s ? [s.kind, [...s.bytes]] : s))).toEqual([
        ["init", [1, 2, 3]],
        ["fragment", [4, 5]],
        ["fragment", [7, 8]],
        { kind: "end", duration: 2.002, cutAt: 1234 },
      ]);
      const ttl = await admin.pttl(key);
      expect(ttl).toBeGreaterThan(25_000);
      expect(ttl).toBeLessThanOrEqual(30_000);
    } finally {
      sink.close();
    }
  });

  it("keep large fragments' bytes and the entries' order when appends are not awaited, MULTI entries among them", async () => {
    const sink = await readySink();
    try {
      const key = "edgecast:test:segment-large";
      // Fragments as the node cuts them (tens to hundreds of KB), every byte value and CRLF inside, one of them a view.
      const fragment = (seed: number, size: number) => Buffer.from(Array.from({ length: size }, (_, i) => (i * 7919 + seed) % 256));
      const backing = fragment(3, 300_010);
      const fragments = [fragment(1, 150_000), fragment(2, 1), backing.subarray(5, 300_005), new Uint8Array(fragment(4, 80_000))];
      // As the node does: the init (with its expiry, a MULTI), then the fragments at once, then the end (a MULTI when
      // it moves the expiry), and an entry after it.
      const appends = [
        sink.append(key, { kind: "init", bytes: new Uint8Array([9, 13, 10]) }, Date.now() + 60_000),
        ...fragments.map((bytes, index) => sink.append(key, { kind: "fragment", index, bytes }, null)),
        sink.append(key, { kind: "end", count: 4, duration: 2, cutAt: 1 }, Date.now() + 90_000),
        sink.append(key, { kind: "abort", reason: "not_cut" }, null),
      ];
      await Promise.all(appends);
      const steps = await readAll(key, { waitMs: 1_000, maxBytes: 1_000_000 });
      expect(steps.map((s) => s.kind)).toEqual(["init", "fragment", "fragment", "fragment", "fragment", "end"]);
      expect([...(steps[0] as { bytes: Uint8Array }).bytes]).toEqual([9, 13, 10]);
      for (const [i, bytes] of fragments.entries()) {
        expect(Buffer.compare(Buffer.from((steps[i + 1] as { bytes: Uint8Array }).bytes), bytes)).toBe(0);
      }
      // The connection still pairs replies with commands: the next append answers.
      await sink.append(key, { kind: "abort", reason: "not_cut" }, null);
      expect(await admin.xlen(key)).toBe(8);
      expect(await admin.pttl(key)).toBeGreaterThan(60_000);
    } finally {
      sink.close();
    }
  });

  it("fall back when the next entry does not come within FRAGMENT_WAIT_MS (the node went away mid-segment)", async () => {
    const sink = await readySink();
    try {
      const key = "edgecast:test:segment-2";
      await sink.append(key, { kind: "init", bytes: new Uint8Array([1]) }, Date.now() + 60_000);
      await sink.append(key, { kind: "fragment", index: 0, bytes: new Uint8Array([2]) }, null);
      const started = Date.now();
      const steps = await readAll(key, { waitMs: 300, maxBytes: 1_000 });
      const waited = Date.now() - started;
      expect(steps.map((s) => s.kind)).toEqual(["init", "fragment", "fallback"]);
      expect(steps.at(-1)).toEqual({ kind: "fallback", reason: "no entry within 300 ms" });
      expect(waited).toBeGreaterThanOrEqual(290);
      expect(waited).toBeLessThan(1_500);
    } finally {
      sink.close();
    }
  });

  it("fall back within 1 s when there is no stream at all, and at once when Redis cannot be reached", async () => {
    let started = Date.now();
    expect(await readAll("edgecast:test:none", { waitMs: 3_000, maxBytes: 1_000 })).toEqual([
      { kind: "fallback", reason: "no stream (nothing within 1000 ms)" },
    ]);
    expect(Date.now() - started).toBeLessThan(2_000);
    started = Date.now();
    const unreachable = `redis://127.0.0.1:${await freePort()}`;
    const [step] = await readAll("edgecast:test:none", { waitMs: 3_000, maxBytes: 1_000 }, unreachable);
    expect(step).toMatchObject({ kind: "fallback", reason: expect.stringMatching(/^redis: /) });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("refuse an append while Redis cannot be reached (the node then closes that segment's stream)", async () => {
    const sink = new RedisFragmentSink(`redis://127.0.0.1:${await freePort()}`);
    try {
      await expect(sink.append("edgecast:test:x", { kind: "init", bytes: new Uint8Array([1]) }, null)).rejects.toThrow(/redis is/);
    } finally {
      sink.close();
    }
  });
});
