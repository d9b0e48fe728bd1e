// The watch page, its status endpoint, the hls.js build the Worker serves itself and the bundled player.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, callJson } from "../api.ts";
import { publish } from "../ingest-client.ts";
import { createStream, expectProblem } from "../playback-helpers.ts";

const hostile = `<script>alert("x")</script> & 'Tom's' </title>`;

/** The same-origin script URLs the page loads (classic and module), in document order. */
function scriptSources(html: string): string[] {
  return [...html.matchAll(/<script (?:type="module" )?src="([^"]+)"><\/script>/g)].map((m) => m[1]!);
}

/** Fetches a static asset the way Workers static assets serve it to a browser (the ASSETS binding). */
function staticAsset(path: string): Promise<Response> {
  return (env as unknown as { ASSETS: Fetcher }).ASSETS.fetch(`https://edge.test${path}`);
}

describe("GET /watch/:id", () => {
  it("answers an HTML page with the title escaped, a CSP that keeps every request on the origin, and its config", async () => {
    const stream = await createStream("interactive", hostile);
    const response = await call("GET", `/watch/${stream.stream_id}`, { token: null });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).not.toContain("<script>alert");
    expect(html).not.toContain(`'Tom's'`);
    const escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Tom&#39;s&#39; &lt;/title&gt;";
    expect(html.match(/<title>([^<]*)<\/title>/)?.[1]).toBe(escaped);
    expect(html.match(/<h1 id="title">([^<]*)<\/h1>/)?.[1]).toBe(escaped);

    const config = JSON.parse(html.match(/<script id="watch-config" type="application\/json">([^<]*)<\/script>/)![1]!) as Record<string, unknown>;
    expect(config).toEqual({
      manifestUrl: `/live/${stream.stream_id}/master.m3u8`,
      statusUrl: `/watch/${stream.stream_id}/status.json`,
      latencyMode: "interactive",
      // hls.js targets the stream's PART-HOLD-BACK (default part target 0.5 s) and catches up (watch-page.ts).
      liveSync: { holdBack: 1.5, jumpAfter: 1.5, maxRate: 1.15 },
    });
    expect(html).toContain('<video id="video" muted autoplay playsinline');

    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    // Scripts are files: no inline script is allowed at all.
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toContain("connect-src 'self'");
    // Every script is same-origin: no CDN. hls.js first (it defines window.Hls), then the page's module.
    const sources = scriptSources(html);
    expect(sources).toHaveLength(2);
    expect(sources[0]).toMatch(/^\/watch\/assets\/hls-\d+\.\d+\.\d+\.min\.js$/);
    expect(sources[1]).toBe("/static/watch.js");
  });

  it("names a player bundle that static assets serve: the typed player (watch.ts), built by esbuild", async () => {
    const stream = await createStream("interactive", "bundle");
    const [, src] = scriptSources(await (await call("GET", `/watch/${stream.stream_id}`, { token: null })).text());
    const response = await staticAsset(src!);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^(text|application)\/javascript/);
    const script = await response.text();
    // Its observable surface (tests and embedders read it) and its hls.js settings made it through the bundler.
    expect(script).toContain("__player");
    expect(script).toContain("lowLatencyMode");
    expect(script).toContain("maxLiveSyncPlaybackRate");
    expect(script).not.toMatch(/^import /m);
  });

  it("keeps a hostile title out of the JSON block and the script", async () => {
    const stream = await createStream("low", "</script><script>alert(1)</script>");
    const html = await (await call("GET", `/watch/${stream.stream_id}`, { token: null })).text();
    expect(html.match(/<script/g)).toHaveLength(3);
  });

  it("answers 404 problems for unknown and malformed ids", async () => {
    await expectProblem(await call("GET", `/watch/${crypto.randomUUID()}`, { token: null }), 404);
    await expectProblem(await call("GET", "/watch/not-a-stream", { token: null }), 404);
    await expectProblem(await call("GET", `/watch/${crypto.randomUUID()}/status.json`, { token: null }), 404);
    expect((await call("POST", `/watch/${crypto.randomUUID()}`, { token: null })).status).toBe(405);
  });
});

describe("GET /watch/assets/hls-<version>.min.js", () => {
  it("serves the bundled hls.js as immutable JavaScript under the URL the page names", async () => {
    const stream = await createStream("low", "assets");
    const [src] = scriptSources(await (await call("GET", `/watch/${stream.stream_id}`, { token: null })).text());
    const response = await call("GET", src!, { token: null });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const script = await response.text();
    expect(script.length).toBeGreaterThan(100_000);
    // The UMD build defines the global the page uses, and the version in the URL is the bundled one.
    expect(script).toMatch(/typeof exports.*typeof module|\.Hls\s*=/);
    expect(script).toContain(`"${src!.match(/hls-(.+)\.min\.js$/)![1]}"`);
  });

  it("answers 404 for any other file or version", async () => {
    await expectProblem(await call("GET", "/watch/assets/hls-0.0.1.min.js", { token: null }), 404);
    await expectProblem(await call("GET", "/watch/assets/hls.min.js", { token: null }), 404);
  });
});

describe("GET /watch/:id/status.json", () => {
  it("is public, cached briefly and shows only what a viewer may see", async () => {
    const stream = await createStream("interactive", "Status <b>title</b>");
    const response = await call("GET", `/watch/${stream.stream_id}/status.json`, { token: null });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("public, max-age=2");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({ status: "offline", viewers: 0, title: "Status <b>title</b>", latency_mode: "interactive" });
  });

  it("says live during a broadcast and ended after it", async () => {
    const live = await createStream("low", "live one");
    await publish(live.stream_key);
    expect(await callJson("GET", `/watch/${live.stream_id}/status.json`, 200, { token: null })).toMatchObject({ status: "live" });

    const ended = await createStream("low", "ended one");
    await publish(ended.stream_key);
    await callJson("POST", `/streams/${ended.stream_id}/stop`, 200);
    expect(await callJson("GET", `/watch/${ended.stream_id}/status.json`, 200, { token: null })).toMatchObject({ status: "ended" });
  });
});
