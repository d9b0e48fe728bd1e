// The dashboard page (`GET /dashboard`) and the home page (`GET /` from a browser). Public: the pages hold nothing
// private; the dashboard's API calls carry the token the user signs in with.
import { Hono } from "hono";
import type { AppEnv } from "../app-env.ts";
import { DASHBOARD_CSP, renderDashboardPage } from "../dashboard/dashboard-page.ts";
import { HOME_CSP, renderHomePage } from "../dashboard/home-page.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";
import { HLS_SCRIPT_URL } from "./watch.ts";

const PAGE_HEADERS = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "cache-control": "no-cache" };

/** Routes under /dashboard. */
export const dashboardRoutes = new Hono<AppEnv>();

dashboardRoutes.get("/", (c) => c.html(renderDashboardPage(HLS_SCRIPT_URL), 200, { ...PAGE_HEADERS, "content-security-policy": DASHBOARD_CSP }));
dashboardRoutes.all("/", methodNotAllowed("GET"));

/** Whether `/` was asked for by a browser (text/html in Accept): it gets the home page, API clients the JSON. */
export function wantsHtml(accept: string | undefined): boolean {
  return /\btext\/html\b/i.test(accept ?? "");
}

/** The home page for browsers: links to the dashboard, the API reference and the docs. */
export function homePage(): Response {
  return new Response(renderHomePage(), {
    headers: { "content-type": "text/html; charset=utf-8", ...PAGE_HEADERS, "content-security-policy": HOME_CSP },
  });
}
