import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { accessLog, isRoutineIngestRequest, isViewerRequest } from "../../../../edge/src/http/access-log.ts";

function appLogging(lines: string[]): Hono {
  const app = new Hono();
  app.use(
    "*",
    accessLog((line) => lines.push(line)),
  );
  app.get("/live/:id/master.m3u8", (c) => c.text("#EXTM3U"));
  app.get("/live/:id/missing.m3u8", (c) => c.text("no", 404));
  app.post("/streams", (c) => c.json({ ok: true }, 201));
  app.put("/ingest/v1/streams/:id/renditions/:r/segments/:msn", (c) => c.body(null, c.req.param("msn") === "9" ? 409 : 204));
  app.post("/ingest/v1/publish", (c) => c.json({ ok: true }));
  return app;
}

describe("access log", () => {
  it("logs method, path, status and time, never the query", async () => {
    const lines: string[] = [];
    await appLogging(lines).request("/streams?token=secret-token-value", { method: "POST" });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^POST \/streams 201 \d+ms$/);
    expect(lines.join("\n")).not.toContain("secret-token-value");
  });

  it("leaves out successful viewer requests but logs failed ones", async () => {
    const lines: string[] = [];
    const app = appLogging(lines);
    await app.request("/live/abc/master.m3u8?token=t0ken&_HLS_msn=3");
    expect(lines).toEqual([]);
    await app.request("/live/abc/missing.m3u8?token=t0ken");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^GET \/live\/abc\/missing\.m3u8 404 \d+ms$/);
  });

  it("tells viewer traffic by method and first path segment", () => {
    expect(isViewerRequest("GET", "/live/x/master.m3u8")).toBe(true);
    expect(isViewerRequest("HEAD", "/vod/x/360p/index.m3u8")).toBe(true);
    expect(isViewerRequest("GET", "/watch/x")).toBe(true);
    expect(isViewerRequest("OPTIONS", "/clips/x/master.m3u8")).toBe(true);
    expect(isViewerRequest("POST", "/live/x")).toBe(false);
    expect(isViewerRequest("GET", "/streams/x")).toBe(false);
    expect(isViewerRequest("GET", "/bench/plain")).toBe(true);
    expect(isViewerRequest("GET", "/livestream")).toBe(false);
  });

  it("leaves out the nodes' successful uploads and heartbeats, logs their failures and every publish", async () => {
    const lines: string[] = [];
    const app = appLogging(lines);
    await app.request("/ingest/v1/streams/s1/renditions/source/segments/8", { method: "PUT" });
    expect(lines).toEqual([]);
    await app.request("/ingest/v1/streams/s1/renditions/source/segments/9", { method: "PUT" });
    await app.request("/ingest/v1/publish", { method: "POST" });
    expect(lines.map((l) => l.replace(/ \d+ms$/, ""))).toEqual(["PUT /ingest/v1/streams/s1/renditions/source/segments/9 409", "POST /ingest/v1/publish 200"]);
    expect(isRoutineIngestRequest("POST", "/ingest/v1/streams/s1/heartbeat")).toBe(true);
    expect(isRoutineIngestRequest("POST", "/ingest/v1/nodes/heartbeat")).toBe(true);
    expect(isRoutineIngestRequest("PUT", "/ingest/v1/worker/streams/s1/renditions/360p/segments/3")).toBe(true);
    expect(isRoutineIngestRequest("POST", "/ingest/v1/unpublish")).toBe(false);
    expect(isRoutineIngestRequest("POST", "/ingest/v1/nodes/register")).toBe(false);
    expect(isRoutineIngestRequest("PUT", "/streams/s1")).toBe(false);
  });
});
