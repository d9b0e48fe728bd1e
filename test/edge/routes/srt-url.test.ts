import { beforeEach, describe, expect, it } from "vitest";
import { callJson } from "../api.ts";
import { heartbeatAdvertising, registerNode } from "../ingest-client.ts";

interface Stream {
  stream_id: string;
  ingest_server: string;
  srt_url: string | null;
  stream_key?: string;
}

/** A node heartbeat advertising `srtUrl` (or none); returns the edge's answer. */
function heartbeat(nodeId: string, srtUrl?: string): Promise<{ rtmp_url: string | null; srt_url?: string | null }> {
  return heartbeatAdvertising(nodeId, "eu-west", srtUrl ? { srt_url: srtUrl } : {});
}

describe("srt_url: a node's SRT URL, from its heartbeat to the stream object", () => {
  beforeEach(async () => {
    await registerNode("eu-1", "eu-west");
  });

  it("offers the node's SRT URL on its RTMP URL's host: with the key as streamid on create, the server part on read", async () => {
    const answer = await heartbeat("eu-1", "srt://eu-1.test:9000");
    expect(answer.srt_url).toBe("srt://eu-1.test:9000");
    const created = await callJson<Stream>("POST", "/streams", 201, { body: { title: "srt", region: "eu-west" } });
    expect(created.ingest_server).toBe("rtmp://eu-1.test:1935/live");
    expect(created.srt_url).toBe(`srt://eu-1.test:9000?streamid=${created.stream_key}`);
    const read = await callJson<Stream>("GET", `/streams/${created.stream_id}`, 200);
    expect(read.srt_url).toBe("srt://eu-1.test:9000");
    const listed = await callJson<{ streams: Stream[] }>("GET", "/streams", 200);
    expect(listed.streams.find((s) => s.stream_id === created.stream_id)?.srt_url).toBe("srt://eu-1.test:9000");
    const rotated = await callJson<Stream>("POST", `/streams/${created.stream_id}/key`, 200);
    expect(rotated.srt_url).toBe(`srt://eu-1.test:9000?streamid=${rotated.stream_key}`);
  });

  it("refuses an SRT URL on another host (or without a port), and forgets it when the node stops advertising one", async () => {
    expect((await heartbeat("eu-1", "srt://attacker.example:9000")).srt_url).toBe(null);
    expect((await heartbeat("eu-1", "srt://eu-1.test")).srt_url).toBe(null);
    expect((await heartbeat("eu-1", "srt://eu-1.test:9000?streamid=x")).srt_url).toBe(null);
    const created = await callJson<Stream>("POST", "/streams", 201, { body: { title: "no srt", region: "eu-west" } });
    expect(created.srt_url).toBe(null);
    await heartbeat("eu-1", "srt://eu-1.test:9000");
    expect((await callJson<Stream>("GET", `/streams/${created.stream_id}`, 200)).srt_url).toBe("srt://eu-1.test:9000");
    const answer = await heartbeat("eu-1");
    expect(answer.srt_url).toBeUndefined();
    expect((await callJson<Stream>("GET", `/streams/${created.stream_id}`, 200)).srt_url).toBe(null);
  });
});
