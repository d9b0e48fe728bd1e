// The interactive API reference in a real browser: `wrangler dev` serves /docs, headless Chromium renders it from
// /openapi.json with Swagger UI's script and stylesheet from the Worker itself (the page's CSP allows no other
// origin), shows every operation of the document, and a call made from the page reaches the API with the token.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inPage, launchBrowser, type TestBrowser, waitInPage } from "../../scripts/lib/browser.ts";
import { type EdgeDev, startEdgeDev } from "../../scripts/lib/edge-dev.ts";
import { freePort } from "../../scripts/lib/free-port.ts";

const ADMIN_TOKEN = "e2e-admin-token";

describe("GET /docs in Chromium", () => {
  let root: string;
  let edge: EdgeDev;
  let browser: TestBrowser;
  const offOrigin: string[] = [];
  const failed: string[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "edgecast-api-reference-"));
    edge = await startEdgeDev({ port: await freePort(), persistTo: join(root, "state"), vars: { ADMIN_TOKEN }, logLevel: "warn" });
    browser = await launchBrowser();
    // Every request the page makes, so the test can tell none left the Worker's origin.
    browser.page.on("request", (request) => {
      if (!request.url().startsWith(edge.url) && !request.url().startsWith("data:")) offOrigin.push(request.url());
    });
    browser.page.on("response", (response) => {
      if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await edge?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("renders every operation of /openapi.json, loads nothing from elsewhere, and runs a call with the token", async () => {
    const document = (await (await fetch(`${edge.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(document.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    expect(operations).toBeGreaterThan(30);

    const { page } = browser;
    await page.goto(`${edge.url}/docs`);
    await waitInPage(
      page,
      "every operation rendered",
      `document.querySelectorAll(".opblock").length === ${operations}`,
      20_000,
      'document.querySelectorAll(".opblock").length',
    );
    expect(await inPage<string>(page, 'document.querySelector(".info .title")?.textContent ?? ""')).toContain("edgecast API");

    // Swagger UI's own API: authorize the bearer scheme, then try GET /streams from the page.
    await inPage(page, `window.ui.preauthorizeApiKey("bearer", ${JSON.stringify(ADMIN_TOKEN)}), true`);
    const list = page.locator("#operations-Streams-get_streams");
    await list.locator(".opblock-summary").click();
    await list.locator("button.try-out__btn").click();
    const answer = page.waitForResponse((response) => new URL(response.url()).pathname === "/streams" && response.request().method() === "GET");
    await list.locator("button.execute").click();
    const response = await answer;
    expect(response.status()).toBe(200);
    expect(response.request().headers().authorization).toBe(`Bearer ${ADMIN_TOKEN}`);
    await waitInPage(
      page,
      "the answer shown",
      `[...document.querySelectorAll("#operations-Streams-get_streams .live-responses-table .response-col_status")].some((cell) => cell.textContent.trim() === "200")`,
      10_000,
    );

    expect(offOrigin, "requests to other origins").toEqual([]);
    expect(failed, "failed requests").toEqual([]);
    expect(browser.errors, "console errors (a CSP violation shows here)").toEqual([]);
  });
});
