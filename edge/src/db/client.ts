// The drizzle client over the D1 binding.
import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema.ts";

/** A drizzle database for this request's D1 binding. */
export function database(env: Env) {
  return drizzle(env.DB, { schema });
}

/** The drizzle database type. */
export type Database = ReturnType<typeof database>;
