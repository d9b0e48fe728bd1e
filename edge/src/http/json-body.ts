// Reading JSON request bodies: size limit, malformed JSON and invalid fields become clear 4xx problems.
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { z } from "zod";
import type { AppContext, AppEnv } from "../app-env.ts";
import { getConfig } from "../config.ts";
import { AppError } from "../errors.ts";

/**
 * Middleware: 413 (with `detail(maxSize)`) when a body is larger than `maxSize(env)` bytes, checked while the body
 * streams in rather than trusting Content-Length.
 */
export function limitBody(maxSize: (env: Env) => number, detail: (maxSize: number) => string) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const limit = maxSize(c.env);
    return bodyLimit({
      maxSize: limit,
      onError: () => {
        throw new AppError(413, "payload_too_large", detail(limit));
      },
    })(c, next);
  });
}

/** Middleware: 413 when a JSON body is larger than MAX_JSON_BYTES. */
export const limitJsonBody = limitBody(
  (env) => getConfig(env).maxJsonBytes,
  (max) => `The request body is larger than ${max} bytes.`,
);

/** Describes zod issues as `field: message; field: message`, naming each offending field. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "body"}: ${issue.message}`)
    .join("; ");
}

/**
 * Reads the request body as JSON: 415 for another Content-Type (none counts as JSON), 400 `malformed_json` for text
 * that does not parse; an empty body is `{}` when allowed.
 */
export async function parseJsonBody(c: AppContext, options: { allowEmpty?: boolean } = {}): Promise<unknown> {
  const contentType = c.req.header("content-type");
  if (contentType && !/^application\/([\w.+-]*\+)?json\b/i.test(contentType)) {
    throw new AppError(415, "unsupported_media_type", `Send JSON with Content-Type: application/json (got "${contentType}").`);
  }
  const text = await c.req.text();
  if (text.trim() === "" && options.allowEmpty) return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AppError(400, "malformed_json", `The request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Parses the request body as JSON and validates it with `schema`; an empty body counts as `{}` when allowed. */
export async function readJson<S extends z.ZodType>(c: AppContext, schema: S, options: { allowEmpty?: boolean } = {}): Promise<z.infer<S>> {
  const result = schema.safeParse(await parseJsonBody(c, options));
  if (!result.success) {
    throw new AppError(400, "invalid_field", describeIssues(result.error.issues));
  }
  return result.data;
}
