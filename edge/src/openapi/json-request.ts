// JSON request bodies of createRoute routes: the body's schema for the document and the validator, and the middleware
// that keeps our own answers for what comes before validation (size, Content-Type, malformed JSON, an empty body).
import type { z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env.ts";
import { limitJsonBody, parseJsonBody } from "../http/json-body.ts";

/** A createRoute `request.body`: JSON validated by `schema`. */
export function jsonBody<S extends z.ZodType>(schema: S, description?: string) {
  return { content: { "application/json": { schema } }, required: true, ...(description ? { description } : {}) } as const;
}

/**
 * createRoute `middleware` of a route with a JSON body: 413 past MAX_JSON_BYTES, 415 for another Content-Type,
 * 400 `malformed_json`, and an empty body read as `{}` when `allowEmpty` (then every field has its default).
 */
export function jsonBodyMiddleware(options: { allowEmpty?: boolean } = {}) {
  const parse = createMiddleware<AppEnv>(async (c, next) => {
    const value = await parseJsonBody(c, options);
    // The route's validator reads the body again, as JSON text (Hono's c.req.json() parses the cached text): it
    // gets the value parsed here, an empty body as `{}`.
    const text = JSON.stringify(value);
    // (The cache holds each body read's promise, which Hono's type of it does not say.)
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text);
    // It also reads only a body labelled JSON (and refuses an unlabelled one), where we take a body without a
    // Content-Type as JSON: label it. The request keeps everything else (method, headers, `cf`).
    if (!c.req.header("content-type")) {
      const headers = new Headers(c.req.raw.headers);
      headers.set("content-type", "application/json");
      c.req.raw = new Request(c.req.raw, { headers, body: text });
    }
    await next();
  });
  return [limitJsonBody, parse];
}
