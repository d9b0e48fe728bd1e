// The OpenAPI 3.1 document of the control API, generated from the routes' createRoute definitions (and so from the
// zod schemas that validate their requests): served at /openapi.json, committed as docs/openapi.json.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env.ts";

/** The document's title and what it describes. */
const INFO = {
  title: "edgecast API",
  version: "1",
  description: [
    "The control API of edgecast: streams, VODs, clips, signed playback, webhooks, users and API tokens, ingest regions and nodes.",
    "",
    "Every control call takes `Authorization: Bearer <token>` (an API token, or ADMIN_TOKEN; locally `dev-admin-token`).",
    "Errors are `application/problem+json` with a stable `code` and a `detail` that says what to fix.",
    "Live playback (`/live/{id}/master.m3u8`), the watch page and the ingest nodes' API are described in the README.",
  ].join("\n"),
};

const generated = new WeakMap<OpenAPIHono<AppEnv>, ReturnType<typeof generate>>();

/** The OpenAPI document of `app`: every route it declares with createRoute (hidden ones aside), and bearer auth. */
export function openApiDocument(app: OpenAPIHono<AppEnv>) {
  // The routes are fixed once the app is built: generated once per isolate.
  let document = generated.get(app);
  if (!document) {
    document = generate(app);
    generated.set(app, document);
  }
  return document;
}

function generate(app: OpenAPIHono<AppEnv>) {
  const document = app.getOpenAPI31Document({ openapi: "3.1.0", info: INFO });
  return {
    ...document,
    components: {
      ...document.components,
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "An API token (`et_…`) or ADMIN_TOKEN." } },
    },
  };
}
