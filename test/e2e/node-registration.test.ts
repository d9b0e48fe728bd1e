// A node started with only the bootstrap secret registers, then renews its credential every few seconds while an
// interactive stream uploads parts and segments at full rate: no upload is lost to a credential that changed under it.
import HLS from "hls-parser";
import type { MasterPlaylist, MediaPlaylist } from "hls-parser/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, INGEST_SECRET, startSystem, type TestSystem } from "./harness.ts";

interface Stream {
  stream_id: string;
  ingest_endpoint: string;
}

let system: TestSystem;

beforeAll(async () => {
  // Renewed at two thirds of 6 s: every 4 s, about six times during the broadcast.
  system = await startSystem({ edgeVars: { NODE_REGISTRATION_SECONDS: "6", RECONNECT_WINDOW_SECONDS: "10" } });
});

afterAll(async () => {
  await system?.stop();
});

/** A counter or gauge from the node's /metrics, summed over the series whose labels contain `match`. */
async function metric(name: string, match = ""): Promise<number> {
  const text = await (await fetch(`${system.nodes[0]!.opsUrl}/metrics`)).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith(name) && line.includes(match))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

describe("a node registered with the bootstrap secret", () => {
  it("renews its credential while uploading, and loses nothing", async () => {
    const node = system.nodes[0]!;
    expect(node.lines.some((l) => l.includes("edge: node registered"))).toBe(true);
    const created = await system.api<Stream>("POST", "/streams", { title: "renewals", latency_mode: "interactive" });
    expect(created.status).toBe(201);
    const stream = created.body;
    const publisher = system.publish(stream.ingest_endpoint, { durationS: 22 });
    await publisher.exited;
    await eventually("the node to hand the broadcast back", 15_000, async () => {
      const status = await system.api<{ health: { ingest_connected: boolean } }>("GET", `/streams/${stream.stream_id}/status`);
      return status.body.health.ingest_connected ? undefined : true;
    });
    expect(await metric("ingest_upload_backlog_objects")).toBe(0);
    const renewals = node.lines.filter((l) => l.includes("edge: node credential renewed")).length;
    expect(renewals).toBeGreaterThanOrEqual(4);
    // Nothing refused, nothing dropped: every upload that crossed a renewal was retried with the new credential.
    expect(await metric("ingest_upload_failed_total")).toBe(0);
    expect(await metric("ingest_upload_fenced_total")).toBe(0);
    // Every segment cut is in the recording.
    const produced = await metric("ingest_segments_produced_total", stream.stream_id);
    expect(produced).toBeGreaterThan(10);
    expect((await system.api<{ status: string }>("POST", `/streams/${stream.stream_id}/stop`)).status).toBe(200);
    const vod = await eventually("a ready VOD", 15_000, async () => {
      const list = await system.api<{ vods: { status: string; playback_url: string }[] }>("GET", `/streams/${stream.stream_id}/vods`);
      return list.body.vods.find((v) => v.status === "ready");
    });
    const masterUrl = system.url(new URL(vod.playback_url).pathname);
    const master = HLS.parse(await (await fetch(masterUrl)).text()) as MasterPlaylist;
    let listed = 0;
    for (const variant of master.variants) {
      listed += (HLS.parse(await (await fetch(new URL(variant.uri, masterUrl))).text()) as MediaPlaylist).segments.length;
    }
    expect(listed).toBe(produced);
    // The bootstrap secret never reaches the node's log.
    expect(node.lines.join("\n")).not.toContain(INGEST_SECRET);
  });
});
