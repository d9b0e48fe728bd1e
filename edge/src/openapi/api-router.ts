// A router of the control API: routes declared with createRoute, whose requests are validated by the same zod schemas
// the OpenAPI document is generated from, and whose invalid requests get our 400 problem, naming each bad field.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env.ts";
import { AppError } from "../errors.ts";
import { describeIssues } from "../http/json-body.ts";

/** A new router whose failed request validations are thrown as 400 `invalid_field` (answered by the app's onError). */
export function apiRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw new AppError(400, "invalid_field", describeIssues(result.error.issues));
    },
  });
}
