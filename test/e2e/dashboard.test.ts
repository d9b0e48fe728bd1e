// The dashboard in a real browser, walked as a streamer would: Chromium signs in to /dashboard with a user's API
// token, creates a stream, copies the key it shows, FFmpeg publishes with that key through the ingest node, the page
// turns live, its preview plays and its health charts grow; the streamer stops, plays the VOD, makes a clip from in
// and out points and plays it, rotates the key (the old one is refused), adds a webhook (secret shown once), is sent
// back to sign-in when the token is revoked, and signs out. Every main page is checked with axe-core (no serious or
// critical violation) and photographed: into docs/screenshots/ with UPDATE_SCREENSHOTS=1, else into a temporary directory
// (so a test run leaves the committed images alone).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inPage, launchBrowser, type TestBrowser, waitInPage } from "../../scripts/lib/browser.ts";
import { eventually, registerNode, startSystem, type TestSystem } from "./harness.ts";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
/** Where the screenshots go: the committed ones only when asked to update them. */
const UPDATE_SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === "1";
const SCREENSHOTS = UPDATE_SCREENSHOTS ? join(import.meta.dirname, "../../docs/screenshots") : mkdtempSync(join(tmpdir(), "edgecast-screenshots-"));

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core's serious and critical violations on the page as it is now (run through DevTools: the page's CSP allows no inline script). */
async function seriousViolations(page: Page): Promise<string[]> {
  if (!(await inPage<boolean>(page, "typeof window.axe === 'object'"))) await page.evaluate(AXE_SOURCE);
  const violations = await inPage<AxeViolation[]>(page, "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)");
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

async function checkPage(page: Page, name: string): Promise<void> {
  expect(await seriousViolations(page), `axe on ${name}`).toEqual([]);
  await page.screenshot({ path: join(SCREENSHOTS, `dashboard-${name}.png`), fullPage: true });
}

const text = async (page: Page, selector: string): Promise<string> => (await page.locator(selector).first().textContent()) ?? "";

describe("dashboard in Chromium", () => {
  let system: TestSystem;
  let browser: TestBrowser;
  let page: Page;
  let userToken: { token: string; token_id: string };

  beforeAll(async () => {
    system = await startSystem({ edgeVars: { ALLOW_LOCAL_WEBHOOKS: "1" } });
    const user = await system.api<{ user_id: string }>("POST", "/users", { name: "streamer" });
    userToken = (await system.api<{ token: string; token_id: string }>("POST", `/users/${user.body.user_id}/tokens`, { name: "dashboard" })).body;
    browser = await launchBrowser();
    page = browser.page;
    await page.setViewportSize({ width: 1280, height: 900 });
    await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: system.url("") });
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
    if (!UPDATE_SCREENSHOTS) rmSync(SCREENSHOTS, { recursive: true, force: true });
  });

  it("takes a streamer from sign-in to live, VOD, clip, key rotation, webhooks and sign-out", async () => {
    const started = Date.now();
    const failed: string[] = [];
    page.on("response", (response) => {
      if (response.status() >= 400) failed.push(`${response.status()} ${new URL(response.url()).pathname}`);
    });
    // The home page links to the dashboard.
    await page.goto(system.url("/"), { timeout: 15_000 });
    await page.getByRole("link", { name: "Dashboard" }).click();
    await page.waitForURL(/\/dashboard/);

    // Sign in: a wrong token is refused with the API's reason; the user's token gets in.
    await page.getByLabel("API token").fill("et_not-a-real-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator(".problem").waitFor({ timeout: 10_000 });
    await checkPage(page, "sign-in");
    await page.getByLabel("API token").fill(userToken.token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Streams" }).waitFor({ timeout: 10_000 });
    await page.getByText("No streams yet").waitFor({ timeout: 10_000 });
    expect(await inPage(page, "sessionStorage.getItem('edgecast.apiToken')")).toBe(userToken.token);

    // Create a stream; its page shows the key hidden, revealed on demand, and copies it.
    await page.getByLabel("Title").fill("Dashboard walk-through");
    await page.getByLabel("Tags").fill("e2e, demo");
    await page.getByRole("button", { name: "Create stream" }).click();
    await page.getByRole("heading", { name: "Go live" }).waitFor({ timeout: 10_000 });
    expect(await text(page, "#stream-key")).toMatch(/^•+$/);
    await page.getByRole("button", { name: "Reveal" }).click();
    const shownKey = await text(page, "#stream-key");
    expect(shownKey).toMatch(/^sk_/);
    await page.getByRole("button", { name: "Copy stream key" }).click();
    const key = await eventually("the key on the clipboard", 5_000, async () => {
      const copied = await inPage<string>(page, "navigator.clipboard.readText()");
      return copied.startsWith("sk_") ? copied : undefined;
    });
    expect(key).toBe(shownKey);
    expect(await text(page, "#ffmpeg-command")).toContain(`${system.nodes[0]!.rtmpUrl}/${key}`);
    const streamId = page.url().split("/").pop()!;

    // Publish with the copied key: the page turns live, the preview plays and the charts grow.
    const publisher = system.publish(`${await text(page, "#ingest-server")}/${key}`, { durationS: 60 });
    await page
      .locator("#stream-status", { hasText: /^Live$/ })
      .waitFor({ timeout: 20_000 })
      .catch((error: Error) => {
        throw new Error(`${error.message}\npublisher: ${publisher.stderr.join(" | ")}\nnode: ${system.nodes[0]!.lines.slice(-15).join("\n")}`);
      });
    await waitInPage(
      page,
      "the preview playing",
      "(() => { const v = document.getElementById('preview'); return v.currentTime > 0.5 && !v.paused; })()",
      25_000,
    );
    const points = () => inPage<number>(page, "Number(document.getElementById('chart-bitrate').dataset.points)");
    await eventually("health samples", 15_000, async () => ((await points()) >= 2 ? true : undefined));
    const before = await points();
    await eventually("the charts moving", 10_000, async () => ((await points()) > before ? true : undefined));
    expect(await text(page, "#chart-bitrate .latest")).toMatch(/input kbit\/s [1-9]/);
    expect(await page.locator("#chart-delay .u-legend").textContent()).toMatch(/lag/);
    expect(await page.getByRole("link", { name: /\/watch\// }).getAttribute("href")).toBe(system.url(`/watch/${streamId}`));
    await page.getByRole("button", { name: "Hide" }).click(); // no key in the screenshot
    await checkPage(page, "stream-live");

    // Stop: offline, the publisher is let go, and the broadcast becomes a VOD that plays.
    await page.getByRole("button", { name: "Stop" }).click();
    await page.locator("#stream-status", { hasText: "Offline" }).waitFor({ timeout: 15_000 });
    await eventually("the publisher disconnected", 20_000, async () =>
      publisher.child.exitCode !== null || publisher.child.signalCode !== null ? true : undefined,
    );
    const vod = page.locator("#vods li[data-status=ready]");
    await vod.waitFor({ timeout: 30_000 });
    await vod.getByRole("button", { name: /^Play/ }).click();
    await waitInPage(page, "the VOD playing", "document.getElementById('asset-player').currentTime > 2", 20_000);

    // A clip from in and out points picked on the VOD's player.
    await page.getByLabel("In (s)").fill("1");
    await page.getByRole("button", { name: "Set out to player position" }).click();
    expect(Number(await page.getByLabel("Out (s)").inputValue())).toBeGreaterThan(2);
    await page.getByLabel("Clip title").fill("Best bit");
    await page.getByRole("button", { name: "Make clip" }).click();
    const clip = page.locator("#clips li[data-status=ready]");
    await clip.waitFor({ timeout: 20_000 });
    expect(await clip.textContent()).toContain("Best bit");
    await clip.getByRole("button", { name: /^Play/ }).click();
    await waitInPage(page, "the clip playing", "document.getElementById('asset-player').currentTime > 0.5", 20_000);
    expect(await text(page, "#now-playing")).toContain("Best bit");
    await checkPage(page, "stream-recordings");
    page.once("dialog", (dialog) => void dialog.accept());
    await clip.getByRole("button", { name: "Delete clip" }).click();
    await page.getByText("No clips yet").waitFor({ timeout: 10_000 });

    // Rotate the key (after a confirmation): the page shows a new one, and the old one no longer publishes.
    page.once("dialog", (dialog) => void dialog.accept());
    await page.getByRole("button", { name: "Rotate key…" }).click();
    await page.locator("#announcer", { hasText: "rotated" }).waitFor({ timeout: 10_000 });
    await page.getByRole("button", { name: "Reveal" }).click();
    const rotated = await text(page, "#stream-key");
    expect(rotated).toMatch(/^sk_/);
    expect(rotated).not.toBe(key);
    const credential = await registerNode(system.edge.url, "dashboard-check", "local");
    const refused = await fetch(system.url("/ingest/v1/publish"), {
      method: "POST",
      headers: { authorization: `Bearer ${credential}`, "x-node-id": "dashboard-check", "content-type": "application/json" },
      body: JSON.stringify({ stream_key: key }),
    });
    expect(refused.status).toBe(403);

    // Webhooks: add one (its secret shown once), then delete it.
    await page.getByRole("link", { name: "Webhooks" }).click();
    await page.getByRole("heading", { name: "Webhooks" }).waitFor();
    // A URL the API refuses: its problem's detail is shown.
    await page.getByLabel("Endpoint URL").fill("ftp://127.0.0.1/hooks");
    await page.getByRole("button", { name: "Add webhook" }).click();
    await page.locator(".problem", { hasText: "400 invalid_field" }).waitFor({ timeout: 10_000 });
    await page.getByLabel("Endpoint URL").fill("http://127.0.0.1:9/hooks");
    await page.getByRole("button", { name: "Add webhook" }).click();
    expect(await (await page.locator("#webhook-secret").elementHandle({ timeout: 10_000 }))?.textContent()).toMatch(/^whsec_/);
    await page.locator("#webhooks li").first().waitFor();
    await checkPage(page, "webhooks");
    page.once("dialog", (dialog) => void dialog.accept());
    await page.getByRole("button", { name: /Delete the webhook/ }).click();
    await page.locator("#webhooks li").first().waitFor({ state: "detached", timeout: 10_000 });

    // The streams list, filtered; then the token is revoked elsewhere: the next call sends the tab to sign-in.
    await page.getByRole("link", { name: "Streams" }).click();
    await page.locator(`tr[data-stream-id="${streamId}"]`).waitFor({ timeout: 10_000 });
    await page.getByLabel("Status").selectOption("live");
    await page.getByText("No stream matches these filters.").waitFor({ timeout: 10_000 });
    await page.getByLabel("Status").selectOption("");
    await page.locator(`tr[data-stream-id="${streamId}"]`).waitFor({ timeout: 10_000 });
    await checkPage(page, "streams");
    expect((await system.api("DELETE", `/tokens/${userToken.token_id}`)).status).toBe(204);
    await page.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 15_000 });
    expect(await text(page, ".notice")).toMatch(/Signed out: .*revoked/i);
    expect(await inPage(page, "sessionStorage.getItem('edgecast.apiToken')")).toBeNull();

    // Sign in again (the admin token) and sign out.
    await page.getByLabel("API token").fill("e2e-admin-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await inPage(page, "sessionStorage.getItem('edgecast.apiToken')")).toBeNull();
    // Only the refused calls (the wrong token, the revoked one, the bad webhook URL) log errors: the browser reports each.
    expect(
      browser.errors.filter((e) => !/status of (401|400)/.test(e)),
      failed.join(", "),
    ).toEqual([]);
    expect(failed).toEqual(["401 /streams", "400 /webhooks", "401 /streams"]);
    console.log(`dashboard walk-through: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});
