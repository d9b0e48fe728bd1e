// The OpenAPI document is honest both ways: every route the app serves (outside ingest, live playback, the watch
// page, static pages and the benchmark's) is in it, everything in it is served, and its auth is what the routes do.
// (The other half, that real answers match its schemas, is checked on every call test/edge/api.ts makes.)
import { describe, expect, it } from "vitest";
import { app } from "../../../edge/src/index.ts";
import committed from "../../../docs/openapi.json";
import { call } from "../api.ts";

/** Paths the document leaves to the README: the ingest nodes' API, live playback, the watch page, pages, benchmarks. */
const UNDOCUMENTED = [/^\/ingest\/v1(\/|$)/, /^\/live(\/|$)/, /^\/watch(\/|$)/, /^\/bench(\/|$)/, /^\/docs(\/|$)/, /^\/dashboard(\/|$)/, /^\/openapi\.json$/];
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"] as const;

type Operation = { security?: Record<string, string[]>[] };
type Document = { openapi: string; paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>> };

async function servedDocument(): Promise<Document> {
  const response = await call("GET", "/openapi.json", { token: null });
  expect(response.status).toBe(200);
  return (await response.json()) as Document;
}

/** Hono's `/streams/:id/vods` as OpenAPI's `/streams/{id}/vods`. */
const openApiPath = (path: string) => path.replace(/:([^/]+)/g, "{$1}");

/** Every method and path the app routes to a handler of its own (not middleware, not 405 answers). */
function servedRoutes(): { method: string; path: string }[] {
  const routes = app.routes
    .filter((route) => route.method !== "ALL" && !route.path.includes("*"))
    .map((route) => ({ method: route.method.toLowerCase(), path: openApiPath(route.path) }));
  return [...new Map(routes.map((route) => [`${route.method} ${route.path}`, route])).values()];
}

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1 and describes every route the app serves outside ingest, live playback and pages", async () => {
    const document = await servedDocument();
    expect(document.openapi).toBe("3.1.0");
    const served = servedRoutes().filter((route) => !UNDOCUMENTED.some((pattern) => pattern.test(route.path)));
    expect(served.length).toBeGreaterThan(30);
    const missing = served.filter((route) => !document.paths[route.path]?.[route.method as (typeof METHODS)[number]]);
    expect(missing, "served but not documented").toEqual([]);
  });

  it("describes nothing the app does not serve", async () => {
    const document = await servedDocument();
    const served = new Set(servedRoutes().map((route) => `${route.method} ${route.path}`));
    const documented = Object.entries(document.paths).flatMap(([path, item]) => METHODS.filter((method) => item[method]).map((method) => `${method} ${path}`));
    expect(documented.filter((operation) => !served.has(operation))).toEqual([]);
  });

  it("marks as bearer-only exactly the operations that answer 401 without a token", async () => {
    const document = await servedDocument();
    const id = crypto.randomUUID();
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation) continue;
        const url = path.replace(/\{[^}]+\}/g, (name) => (name === "{rendition}" ? "720p" : id));
        const response = await call(method.toUpperCase(), url, { token: null, ...(method === "get" || method === "delete" ? {} : { body: {} }) });
        const bearerOnly = (operation.security ?? []).length > 0 && (operation.security ?? []).every((requirement) => "bearer" in requirement);
        expect(response.status === 401, `${method.toUpperCase()} ${path} without a token: ${response.status}`).toBe(bearerOnly);
      }
    }
  });

  it("is the committed docs/openapi.json (npm run api:document writes it)", async () => {
    expect(await servedDocument(), "docs/openapi.json is stale: run npm run api:document && npm run api:types").toEqual(committed);
  });
});

describe("GET /docs", () => {
  it("is an API reference page whose script and stylesheet come from this Worker", async () => {
    const page = await call("GET", "/docs", { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)]
      .map((match) => match[1] ?? "")
      .filter((url) => url !== "/openapi.json" && !url.startsWith("data:"));
    expect(assets.length).toBe(3);
    for (const asset of assets) {
      expect(asset.startsWith("/docs/assets/"), asset).toBe(true);
      const response = await call("GET", asset, { token: null });
      expect(response.status, asset).toBe(200);
      expect(response.headers.get("content-type")).toMatch(asset.endsWith(".css") ? /^text\/css/ : /^text\/javascript/);
      expect((await response.text()).length).toBeGreaterThan(asset.includes("start-") ? 20 : 50_000);
    }
    const start = await (await call("GET", assets.find((asset) => asset.includes("start-")) ?? "", { token: null })).text();
    expect(start).toContain('"/openapi.json"');
  });

  it("is linked from /", async () => {
    const index = (await (await call("GET", "/", { token: null })).json()) as Record<string, unknown>;
    expect(index.api_reference).toBe("/docs");
    expect(index.openapi).toBe("/openapi.json");
  });
});

describe("requests validated by the routes' schemas keep the API's answers", () => {
  it("reads a body without Content-Type as JSON, and an empty one where the body is optional", async () => {
    // Bytes, not a string: a string body would be labelled text/plain by the Request constructor.
    const created = await call("POST", "/streams", { rawBody: new TextEncoder().encode(JSON.stringify({ title: "no content type" })) });
    expect(created.status).toBe(201);
    const stream = (await created.json()) as { stream_id: string; title: string };
    expect(stream.title).toBe("no content type");
    const token = await call("POST", `/streams/${stream.stream_id}/playback-tokens`);
    expect(token.status, await token.clone().text()).toBe(201);
    const empty = await call("POST", `/streams/${stream.stream_id}/playback-tokens`, { rawBody: "", headers: { "content-type": "application/json" } });
    expect(empty.status).toBe(201);
  });

  it("answers problems with our codes: invalid_field naming the field, malformed_json, unsupported_media_type", async () => {
    const problem = async (response: Response, status: number, code: string) => {
      expect(response.status).toBe(status);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      const body = (await response.json()) as { code: string; detail: string };
      expect(body.code).toBe(code);
      return body.detail;
    };
    expect(await problem(await call("POST", "/streams", { body: { title: "x", latency_mode: "fast" } }), 400, "invalid_field")).toMatch(/^latency_mode: /);
    expect(await problem(await call("GET", "/streams?limit=1000"), 400, "invalid_field")).toMatch(/^limit: /);
    await problem(await call("POST", "/streams", { rawBody: "{", headers: { "content-type": "application/json" } }), 400, "malformed_json");
    await problem(await call("POST", "/webhooks", { rawBody: "url=x", headers: { "content-type": "text/plain" } }), 415, "unsupported_media_type");
  });
});
