// The dashboard (`GET /dashboard`): the HTML shell of the streamer's single-page app. The app is browser TypeScript
// (edge/web/src/dashboard.ts) bundled to static assets; it talks to the control API with the token the user signs in
// with (kept in the tab's sessionStorage). The page itself holds nothing private, so anyone may load it.
import { escapeHtml } from "../watch/watch-page.ts";

/** Same-origin URLs of the bundled app and its styles (scripts/build-web.ts writes them). */
export const DASHBOARD_SCRIPT_URL = "/static/dashboard.js";
export const DASHBOARD_STYLE_URL = "/static/dashboard.css";

/** The Content-Security-Policy of the page: own origin only, for scripts, styles, API calls and media. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // uPlot sizes its canvas and legend with style attributes set from script.
  "style-src 'self' 'unsafe-inline'",
  // "Go live from this browser" POSTs its WebRTC offer to the stream's ingest node (https, or plain http on a laptop).
  "connect-src 'self' https: http://127.0.0.1:* http://localhost:*",
  // hls.js plays through MediaSource (blob: URLs) and transmuxes in a blob: worker.
  "media-src 'self' blob:",
  "worker-src blob:",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The dashboard's HTML; `hlsScriptUrl` is the hls.js build the Worker serves (the preview and VOD player use it). */
export function renderDashboardPage(hlsScriptUrl: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>edgecast dashboard</title>
<link rel="stylesheet" href="${DASHBOARD_STYLE_URL}">
</head>
<body>
<header class="top">
<a class="brand" href="/dashboard">edgecast</a>
<nav id="nav" aria-label="Dashboard"></nav>
</header>
<main id="app" tabindex="-1"><p>Loading…</p></main>
<div id="announcer" role="status" aria-live="polite"></div>
<noscript><p>The dashboard needs JavaScript; the API works without it (see /docs).</p></noscript>
<script src="${escapeHtml(hlsScriptUrl)}"></script>
<script type="module" src="${DASHBOARD_SCRIPT_URL}"></script>
</body>
</html>
`;
}
