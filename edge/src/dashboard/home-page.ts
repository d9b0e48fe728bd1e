// The home page a browser gets at `/`: what this is and where to go (API clients get the JSON index instead).

/** The home page's CSP: its markup, the dashboard stylesheet and an empty icon (no favicon request). */
export const HOME_CSP = "default-src 'none'; style-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The home page's HTML. */
export function renderHomePage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>edgecast</title>
<link rel="stylesheet" href="/static/dashboard.css">
</head>
<body>
<main>
<h1>edgecast</h1>
<p>Edge-native live streaming: RTMP in, LL-HLS out of a Cloudflare Worker.</p>
<ul>
<li><a href="/dashboard">Dashboard</a>: create streams, go live, watch their health, VODs, clips and webhooks.</li>
<li><a href="/docs">API reference</a> (<a href="/openapi.json">OpenAPI document</a>).</li>
<li><a href="https://github.com/edgecast/edgecast#readme">README</a>.</li>
</ul>
</main>
</body>
</html>
`;
}
