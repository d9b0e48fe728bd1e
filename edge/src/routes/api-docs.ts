// The interactive API reference at /docs: Swagger UI, rendered in the browser from /openapi.json. Its script and
// stylesheet are served here from the npm package (no CDN), so the reference works offline.
// The reference brings the text modules' types along into every tsconfig that compiles this file (test/ too).
/// <reference path="../openapi/swagger-ui.d.ts" />
import { Hono } from "hono";
import swaggerCss from "swagger-ui-dist/swagger-ui.css";
import swaggerScript from "swagger-ui-dist/swagger-ui-bundle.js";
import swaggerPackage from "swagger-ui-dist/package.json";
import type { AppEnv } from "../app-env.ts";
import { notFound } from "../errors.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";
import { IMMUTABLE } from "../storage/r2-response.ts";

// The version in each file name makes its URL immutable.
const ASSETS: Record<string, { body: string; type: string }> = {
  [`swagger-ui-bundle-${swaggerPackage.version}.js`]: { body: swaggerScript, type: "text/javascript; charset=utf-8" },
  [`swagger-ui-${swaggerPackage.version}.css`]: { body: swaggerCss, type: "text/css; charset=utf-8" },
  // Started from a file, not inline, so the page's CSP allows scripts from this origin only.
  [`start-${swaggerPackage.version}.js`]: {
    body: `window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#api", deepLinking: true, persistAuthorization: false });\n`,
    type: "text/javascript; charset=utf-8",
  },
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgecast API reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/assets/swagger-ui-${swaggerPackage.version}.css">
</head>
<body>
<main id="api"><noscript>The reference needs JavaScript; the document itself is at <a href="/openapi.json">/openapi.json</a>.</noscript></main>
<script src="/docs/assets/swagger-ui-bundle-${swaggerPackage.version}.js"></script>
<script src="/docs/assets/start-${swaggerPackage.version}.js"></script>
</body>
</html>
`;

// Swagger UI sets inline style attributes and shows inline SVG images; nothing loads from another origin.
const CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** Routes under /docs: the page and its assets (public: it shows only the document, which is public too). */
export const apiDocsRoutes = new Hono<AppEnv>();

apiDocsRoutes.get("/", (c) =>
  c.html(PAGE, 200, { "content-security-policy": CSP, "cache-control": "public, max-age=300", "x-content-type-options": "nosniff" }),
);

apiDocsRoutes.get("/assets/:file", (c) => {
  const asset = ASSETS[c.req.param("file")];
  if (!asset) throw notFound("Asset");
  return c.body(asset.body, 200, { "content-type": asset.type, "cache-control": IMMUTABLE, "x-content-type-options": "nosniff" });
});

apiDocsRoutes.all("/", methodNotAllowed("GET"));
apiDocsRoutes.all("/assets/:file", methodNotAllowed("GET"));
