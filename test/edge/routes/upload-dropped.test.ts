// A node whose upload backlog overflowed (memory and spool full) says how much it dropped; the status shows it.
import { describe, expect, it } from "vitest";
import { ingestPaths } from "../../../protocol/ingest-paths.ts";
import { callJson } from "../api.ts";
import { ingest, publish } from "../ingest-client.ts";

interface Status {
  health: { upload_backlog: number | null; upload_dropped: number | null };
}

describe("upload_dropped in the stream's health", () => {
  it("carries the node's heartbeat count into GET /streams/:id/status, 0 from a node that does not send it", async () => {
    const stream = await callJson<{ stream_id: string; stream_key: string }>("POST", "/streams", 201, { body: { title: "spool cap" } });
    const grant = await publish(stream.stream_key);
    const heartbeat = (extra: Record<string, unknown>) =>
      ingest("POST", ingestPaths.streamHeartbeat(stream.stream_id), {
        json: { epoch: grant.epoch, input_kbps: 2500, fps: 30, speed: 1, backlog: 120, keyframe_interval: 2, ...extra },
      });

    expect((await heartbeat({})).status).toBe(200);
    expect((await callJson<Status>("GET", `/streams/${stream.stream_id}/status`, 200)).health).toMatchObject({ upload_backlog: 120, upload_dropped: 0 });

    expect((await heartbeat({ upload_dropped: 37 })).status).toBe(200);
    expect((await callJson<Status>("GET", `/streams/${stream.stream_id}/status`, 200)).health).toMatchObject({ upload_backlog: 120, upload_dropped: 37 });
  });
});
