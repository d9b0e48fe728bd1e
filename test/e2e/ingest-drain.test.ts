// Deploying an ingest node does not cut broadcasts: SIGTERM drains (no new publishes, live ones continue), then exits.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startSystem, type TestSystem } from "./harness.ts";

interface Stream {
  stream_id: string;
  ingest_endpoint: string;
}

let system: TestSystem;

beforeAll(async () => {
  system = await startSystem();
});

afterAll(async () => {
  await system?.stop();
});

async function segmentCount(streamId: string): Promise<number> {
  const master = await fetch(system.url(`/live/${streamId}/master.m3u8`));
  if (master.status !== 200) return 0;
  const first = (await master.text()).split("\n").find((line) => line.endsWith("index.m3u8"));
  const media = await (await fetch(system.url(`/live/${streamId}/${first}`))).text();
  return media.split("\n").filter((line) => line.startsWith("#EXTINF")).length;
}

describe("ingest node drain on SIGTERM", () => {
  it("refuses new publishes, keeps the live one until it ends, then flushes, tells the edge and exits 0", async () => {
    const live = (await system.api<Stream>("POST", "/streams", { title: "drain: live" })).body;
    const other = (await system.api<Stream>("POST", "/streams", { title: "drain: late" })).body;
    const publisher = system.publish(live.ingest_endpoint);
    await eventually("the first segments", 15_000, async () => ((await segmentCount(live.stream_id)) >= 2 ? true : undefined));

    const node = system.node.process.child;
    const exited = new Promise<number | null>((resolve) => node.once("exit", (code) => resolve(code)));
    process.kill(node.pid!, "SIGTERM");
    await eventually("/healthz to report draining", 5_000, async () => {
      const health = await fetch(`${system.node.opsUrl}/healthz`);
      return health.status === 503 && ((await health.json()) as { draining: boolean }).draining ? true : undefined;
    });

    // A new publish is refused while draining…
    const late = system.publish(other.ingest_endpoint, { durationS: 10 });
    const lateExit = await Promise.race([late.exited, new Promise((resolve) => setTimeout(() => resolve("still running"), 8_000))]);
    expect(lateExit).not.toBe("still running");
    expect(lateExit).not.toBe(0);
    expect(system.node.lines.some((line) => line.includes("publish refused: node is draining"))).toBe(true);

    // …while the live broadcast goes on.
    const before = await segmentCount(live.stream_id);
    await eventually("the live stream to keep growing", 10_000, async () => ((await segmentCount(live.stream_id)) > before ? true : undefined));

    // When its publisher ends, the node flushes, hands the broadcast back and exits cleanly.
    await publisher.stop();
    const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve("timeout"), 20_000))]);
    expect(code).toBe(0);
    const status = await system.api<{ status: string; health: { ingest_connected: boolean } }>("GET", `/streams/${live.stream_id}/status`);
    expect(status.body.status).toBe("live");
    expect(status.body.health.ingest_connected).toBe(false);
    expect(system.node.lines.some((line) => line.includes("broadcast handed back to the edge"))).toBe(true);
    expect(system.node.lines.at(-1)).toContain("ingest node stopped");
  });

  it("stops at once on a second SIGTERM, with the live broadcast still running", async () => {
    const node = await system.restartNode(0);
    const stream = (await system.api<Stream>("POST", "/streams", { title: "drain: twice" })).body;
    const publisher = system.publish(stream.ingest_endpoint);
    try {
      await eventually("the first segments", 15_000, async () => ((await segmentCount(stream.stream_id)) >= 1 ? true : undefined));
      const child = node.dev.process.child;
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      process.kill(child.pid!, "SIGTERM");
      await eventually("draining", 5_000, async () => ((await fetch(`${node.opsUrl}/healthz`)).status === 503 ? true : undefined));
      const started = Date.now();
      process.kill(child.pid!, "SIGTERM");
      const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve("timeout"), 10_000))]);
      expect(code).toBe(0);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(node.lines.some((line) => line.includes("SIGTERM again: stopping now"))).toBe(true);
      // The publisher was cut off with the node.
      const publisherExit = await Promise.race([publisher.exited, new Promise<string>((resolve) => setTimeout(() => resolve("running"), 5_000))]);
      expect(publisherExit).not.toBe("running");
    } finally {
      await publisher.stop();
    }
  });
});
