// Setup file of the `edge` project: apply the D1 migrations drizzle-kit wrote before any test runs.
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
