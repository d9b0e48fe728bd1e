// 405 answers for known paths called with a method they do not support.
import type { Handler } from "hono";
import type { AppEnv } from "../app-env.ts";
import { AppError } from "../errors.ts";

/** A handler that always answers 405 with an `Allow` header listing `allowed`. */
export function methodNotAllowed(...allowed: string[]): Handler<AppEnv> {
  const allow = allowed.join(", ");
  return (c) => {
    throw new AppError(405, "method_not_allowed", `${c.req.method} is not allowed here; use ${allow}.`, { allow });
  };
}
