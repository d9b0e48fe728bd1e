// drizzle-kit writes SQL migrations for D1 from the schema; wrangler applies them (migrations_dir).
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./edge/src/db/schema.ts",
  out: "./migrations",
});
