// Types of the Hono app: the Worker's bindings and the per-request variables middleware sets.
import type { Context } from "hono";

/** Who is calling the control API. */
export interface Principal {
  userId: string;
  role: "admin" | "user";
}

/** Hono environment of this Worker. */
export type AppEnv = {
  Bindings: Env;
  Variables: { requestId: string; principal: Principal; nodeId: string };
};

/** The request context every route handler receives. */
export type AppContext = Context<AppEnv>;
