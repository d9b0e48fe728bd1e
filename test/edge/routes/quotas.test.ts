// Per-user quotas: streams per user, clips per stream and webhook endpoints per user, each reached with a small
// setting, each holding when requests race for the last slot (the count is taken inside the INSERT), the admin exempt.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../../edge/src/index.ts";
import { ADMIN, callJson, newUser } from "../api.ts";
import { publish, putInit, putSegment } from "../ingest-client.ts";
import { expectProblem } from "../playback-helpers.ts";

const limited = { ...env, MAX_STREAMS_PER_USER: "3", MAX_CLIPS_PER_STREAM: "2", MAX_WEBHOOKS_PER_USER: "2" } as Env;

/** A control API call against the Worker with the small quotas above. */
async function post(path: string, token: string, body: unknown): Promise<Response> {
  return worker.fetch(
    new Request(`https://edge.test${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
    limited,
    createExecutionContext(),
  );
}

async function statuses(responses: Response[]): Promise<number[]> {
  await Promise.all(responses.map((r) => r.clone().text()));
  return responses.map((r) => r.status).sort();
}

async function countRows(table: string, column: string, value: string): Promise<number> {
  const row = await env.DB.prepare(`select count(*) as n from ${table} where ${column} = ?`).bind(value).first<{ n: number }>();
  return row!.n;
}

describe("MAX_STREAMS_PER_USER", () => {
  it("refuses the stream past the quota with 409 quota_exceeded, also under racing creates; no orphan key", async () => {
    const user = await newUser("streams quota");
    expect((await post("/streams", user.token, { title: "one" })).status).toBe(201);
    const racing = await Promise.all(Array.from({ length: 5 }, (_, i) => post("/streams", user.token, { title: `race ${i}` })));
    expect(await statuses(racing)).toEqual([201, 201, 409, 409, 409]);
    const problem = await expectProblem(racing.find((r) => r.status === 409)!, 409, /at most 3 streams \(MAX_STREAMS_PER_USER\)/);
    expect(problem.code).toBe("quota_exceeded");
    expect(await countRows("streams", "owner_user_id", user.userId)).toBe(3);
    const keys = await env.DB.prepare("select count(*) as n from stream_keys k left join streams s on s.id = k.stream_id where s.id is null").first<{
      n: number;
    }>();
    expect(keys!.n).toBe(0);
    // Deleting one frees a slot; the admin has no quota.
    const { streams } = await callJson<{ streams: { stream_id: string }[] }>("GET", "/streams", 200, { token: user.token });
    await callJson("GET", `/streams/${streams[0]!.stream_id}`, 200, { token: user.token });
    expect(
      (
        await worker.fetch(
          new Request(`https://edge.test/streams/${streams[0]!.stream_id}`, { method: "DELETE", headers: { authorization: `Bearer ${user.token}` } }),
          limited,
          createExecutionContext(),
        )
      ).status,
    ).toBe(204);
    expect((await post("/streams", user.token, { title: "again" })).status).toBe(201);
    for (let i = 0; i < 4; i += 1) expect((await post("/streams", ADMIN, { title: `admin ${i}` })).status).toBe(201);
  });
});

describe("MAX_WEBHOOKS_PER_USER", () => {
  it("refuses the endpoint past the quota, also under racing registrations", async () => {
    const user = await newUser("hooks quota");
    const racing = await Promise.all(Array.from({ length: 5 }, (_, i) => post("/webhooks", user.token, { url: `https://hooks.example.com/${i}` })));
    expect(await statuses(racing)).toEqual([201, 201, 409, 409, 409]);
    const problem = await expectProblem(racing.find((r) => r.status === 409)!, 409, /at most 2 webhook endpoints \(MAX_WEBHOOKS_PER_USER\)/);
    expect(problem.code).toBe("quota_exceeded");
    expect(await countRows("webhook_endpoints", "user_id", user.userId)).toBe(2);
  });
});

describe("MAX_CLIPS_PER_STREAM", () => {
  it("refuses the clip past the quota, also under racing requests, and leaves no playlist of a refused clip", async () => {
    const user = await newUser("clips quota");
    const stream = await callJson<{ stream_id: string; stream_key: string }>("POST", "/streams", 201, { token: user.token, body: { title: "clipped" } });
    const grant = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", grant.epoch);
    for (let msn = 0; msn < 3; msn += 1) await putSegment(stream.stream_id, "360p", grant.epoch, msn);
    const before = (await env.MEDIA.list({ prefix: "clips/" })).objects.length;
    const racing = await Promise.all(Array.from({ length: 4 }, () => post(`/streams/${stream.stream_id}/clips`, user.token, { start_offset: 0, duration: 2 })));
    expect(await statuses(racing)).toEqual([201, 201, 409, 409]);
    await expectProblem(racing.find((r) => r.status === 409)!, 409, /at most 2 clips of a stream \(MAX_CLIPS_PER_STREAM\)/);
    expect(await countRows("clips", "stream_id", stream.stream_id)).toBe(2);
    const created = await Promise.all(racing.filter((r) => r.status === 201).map((r) => r.json() as Promise<{ clip_id: string }>));
    const orphans = (await env.MEDIA.list({ prefix: "clips/" })).objects.filter((o) => !created.some((c) => o.key.includes(c.clip_id)));
    expect(orphans.length).toBe(before);
    await expectProblem(await post(`/streams/${stream.stream_id}/clips`, user.token, { start_offset: 0, duration: 2 }), 409, /MAX_CLIPS_PER_STREAM/);
  });
});
