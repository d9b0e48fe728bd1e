// Types of the Hono app: the Worker's bindings and the per-request variables middleware sets.
import type { Context } from "hono";

/** Who is calling the control API. */
export interface Principal {
  userId: string;
  role: "admin" | "user";
  /** The API token the caller used and when it expires (both null for ADMIN_TOKEN). */
  tokenId?: string | null;
  tokenExpiresAt?: string | null;
}

/** Hono environment of this Worker. */
export type AppEnv = {
  Bindings: Env;
  /** `nodeId`, `nodeRegion`: the authenticated ingest node and the region its credential was minted for. */
  Variables: { requestId: string; principal: Principal; nodeId: string; nodeRegion: string };
};

/** The request context every route handler receives. */
export type AppContext = Context<AppEnv>;
