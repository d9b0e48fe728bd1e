// The typed client the dashboard uses: openapi-fetch over the types openapi-typescript generates from the committed
// document (edge/web/src/api/schema.d.ts), against the real Worker. A route whose answer or request changes without
// the types following fails here at type-check time (tsc -p test/edge) as well as at run time.
import { exports } from "cloudflare:workers";
import createClient from "openapi-fetch";
import { describe, expect, it } from "vitest";
import type { paths } from "../../../edge/web/src/api/schema.d.ts";
import { ADMIN } from "../api.ts";

const api = createClient<paths>({
  baseUrl: "https://edge.test",
  headers: { authorization: `Bearer ${ADMIN}` },
  fetch: (request: Request) => exports.default.fetch(request),
});

describe("openapi-fetch with the generated types", () => {
  it("creates, reads, lists and changes a stream, and gets the API's problems typed", async () => {
    const created = await api.POST("/streams", { body: { title: "typed", latency_mode: "interactive", tags: ["typed-client"] } });
    expect(created.response.status).toBe(201);
    const stream = created.data;
    if (!stream) throw new Error(`create failed: ${JSON.stringify(created.error)}`);
    expect(stream.stream_key).toMatch(/^sk_/);
    expect(stream.part_target).toBe(0.5);

    const read = await api.GET("/streams/{id}", { params: { path: { id: stream.stream_id } } });
    expect(read.data?.title).toBe("typed");

    const listed = await api.GET("/streams", { params: { query: { tag: "typed-client", limit: 5 } } });
    expect(listed.data?.streams.map((s) => s.stream_id)).toEqual([stream.stream_id]);

    const changed = await api.PATCH("/streams/{id}", { params: { path: { id: stream.stream_id } }, body: { title: "renamed" } });
    expect(changed.data?.title).toBe("renamed");

    const status = await api.GET("/streams/{id}/status", { params: { path: { id: stream.stream_id } } });
    expect(status.data?.status).toBe("offline");

    const missing = await api.GET("/vods/{id}", { params: { path: { id: crypto.randomUUID() } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error?.code).toBe("not_found");
  });
});
