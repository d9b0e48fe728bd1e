// The dashboard's page and the home page that links to it; the bundled app they load is served as a static asset.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call } from "../api.ts";

function staticAsset(path: string): Promise<Response> {
  return (env as unknown as { ASSETS: Fetcher }).ASSETS.fetch(`https://edge.test${path}`);
}

describe("GET /dashboard", () => {
  it("answers the app's HTML shell with a same-origin CSP, no token needed", async () => {
    const response = await call("GET", "/dashboard", { token: null });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await response.text();
    const scripts = [...html.matchAll(/<script (?:type="module" )?src="([^"]+)"><\/script>/g)].map((m) => m[1]);
    expect(scripts).toEqual([expect.stringMatching(/^\/watch\/assets\/hls-[\d.]+\.min\.js$/), "/static/dashboard.js"]);
    expect(html).toContain('<link rel="stylesheet" href="/static/dashboard.css">');
    // Nothing inline for the CSP to allow: no script body, no token anywhere in the page.
    expect(html).not.toMatch(/<script(?![^>]*src=)[^>]*>/);
  });

  it("names an app bundle and stylesheet that static assets serve", async () => {
    const script = await staticAsset("/static/dashboard.js");
    expect(script.status).toBe(200);
    const code = await script.text();
    // The sign-in keeps the token in sessionStorage only, and the health charts are uPlot's.
    expect(code).toContain("edgecast.apiToken");
    expect(code).toContain("sessionStorage");
    expect(code).not.toContain("localStorage");
    expect(code).toMatch(/uplot/i);
    const style = await staticAsset("/static/dashboard.css");
    expect(style.status).toBe(200);
    expect(style.headers.get("content-type")).toMatch(/^text\/css/);
    expect(await style.text()).toContain(".uplot");
  });

  it("answers 405 for other methods", async () => {
    expect((await call("POST", "/dashboard", { token: null })).status).toBe(405);
  });
});

describe("GET /", () => {
  it("links a browser to the dashboard and the API reference", async () => {
    const response = await call("GET", "/", { token: null, headers: { accept: "text/html,application/xhtml+xml,*/*;q=0.8" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('<a href="/dashboard">Dashboard</a>');
    expect(html).toContain('<a href="/docs">');
  });

  it("still answers API clients with the JSON index", async () => {
    const response = await call("GET", "/", { token: null, headers: { accept: "application/json" } });
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toMatchObject({ name: "edgecast" });
  });
});
