// Authentication per mount: index.ts says which credential each router's routes need, and nothing else gets it.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Hono, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env.ts";
import { requireBootstrap, requireNode } from "../auth/node-auth.ts";
import { requireAdmin, requireUser } from "../auth/principal.ts";
import { apiRouter } from "../openapi/api-router.ts";

/**
 * `router` with `checks` run before each of its own routes, on exactly their paths: unlike `use("*")` in the router,
 * this does not reach routes another router serves under the same prefix, so no mount depends on another's order.
 */
export function guarded(router: Hono<AppEnv>, ...checks: MiddlewareHandler<AppEnv>[]): OpenAPIHono<AppEnv> {
  const wrapper = apiRouter();
  const paths = new Set(router.routes.map((route) => route.path));
  for (const path of paths) {
    if (path.includes("*")) throw new Error(`guarded: ${path} is a wildcard; give the router's routes their own paths`);
    wrapper.use(path, ...checks);
  }
  return wrapper.route("/", router);
}

/** Every route of `router` needs a bearer token: an API token or ADMIN_TOKEN (401 otherwise). */
export function bearer(router: OpenAPIHono<AppEnv>): OpenAPIHono<AppEnv> {
  return guarded(router, requireUser);
}

/** Every route of `router` needs ADMIN_TOKEN (401 without a valid token, 403 with another). */
export function adminOnly(router: OpenAPIHono<AppEnv>): OpenAPIHono<AppEnv> {
  return guarded(router, requireUser, requireAdmin);
}

/** Every route of `router` needs an ingest node's own credential (401 otherwise); sets `nodeId` and `nodeRegion`. */
export function nodeOnly(router: Hono<AppEnv>): OpenAPIHono<AppEnv> {
  return guarded(router, requireNode);
}

/** Every route of `router` needs the bootstrap secret, INGEST_SECRET (401 otherwise): registering a node. */
export function bootstrapOnly(router: Hono<AppEnv>): OpenAPIHono<AppEnv> {
  return guarded(router, requireBootstrap);
}
