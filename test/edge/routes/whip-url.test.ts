import { beforeEach, describe, expect, it } from "vitest";
import { callJson } from "../api.ts";
import { heartbeatAdvertising, registerNode } from "../ingest-client.ts";

interface Stream {
  stream_id: string;
  ingest_server: string;
  whip_url: string | null;
  stream_key?: string;
}

/** A node heartbeat advertising `whipUrl` (or none); returns the edge's answer. */
function heartbeat(nodeId: string, whipUrl?: string): Promise<{ rtmp_url: string | null; whip_url?: string | null }> {
  return heartbeatAdvertising(nodeId, "eu-west", whipUrl ? { whip_url: whipUrl } : {});
}

describe("whip_url: a node's WHIP base URL, from its heartbeat to the stream object", () => {
  beforeEach(async () => {
    await registerNode("eu-1", "eu-west");
  });

  it("offers <node>/whip/<stream id> on the RTMP URL's host, the same in every answer (the key never goes in it)", async () => {
    expect((await heartbeat("eu-1", "https://eu-1.test:8443")).whip_url).toBe("https://eu-1.test:8443");
    const created = await callJson<Stream>("POST", "/streams", 201, { body: { title: "whip", region: "eu-west" } });
    const expected = `https://eu-1.test:8443/whip/${created.stream_id}`;
    expect(created.whip_url).toBe(expected);
    expect(created.whip_url).not.toContain(created.stream_key!);
    expect((await callJson<Stream>("GET", `/streams/${created.stream_id}`, 200)).whip_url).toBe(expected);
    const listed = await callJson<{ streams: Stream[] }>("GET", "/streams", 200);
    expect(listed.streams.find((s) => s.stream_id === created.stream_id)?.whip_url).toBe(expected);
    expect((await callJson<Stream>("POST", `/streams/${created.stream_id}/key`, 200)).whip_url).toBe(expected);
  });

  it("refuses a WHIP URL on another host, with a path or a query, and forgets it when the node stops advertising one", async () => {
    expect((await heartbeat("eu-1", "https://attacker.example")).whip_url).toBe(null);
    expect((await heartbeat("eu-1", "https://eu-1.test/elsewhere")).whip_url).toBe(null);
    expect((await heartbeat("eu-1", "https://eu-1.test?x=1")).whip_url).toBe(null);
    const created = await callJson<Stream>("POST", "/streams", 201, { body: { title: "no whip", region: "eu-west" } });
    expect(created.whip_url).toBe(null);
    await heartbeat("eu-1", "https://eu-1.test");
    expect((await callJson<Stream>("GET", `/streams/${created.stream_id}`, 200)).whip_url).toBe(`https://eu-1.test/whip/${created.stream_id}`);
    expect((await heartbeat("eu-1")).whip_url).toBeUndefined();
    expect((await callJson<Stream>("GET", `/streams/${created.stream_id}`, 200)).whip_url).toBe(null);
  });
});
