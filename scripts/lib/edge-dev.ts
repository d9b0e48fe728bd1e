// Runs the edge Worker locally under `wrangler dev` (local D1/R2/Durable Objects) with migrations applied.
import { spawnSync } from "node:child_process";
import { hasLocalD1, seedMigratedState } from "./migrated-state.ts";
import { type GroupProcess, spawnGroup, waitForHttp } from "./processes.ts";
import type { Reaper } from "./reaper.ts";

/** Options for a local edge. */
export interface EdgeDevOptions {
  port: number;
  /** Directory of local D1/R2/DO state (wrangler's `--persist-to`). */
  persistTo: string;
  /** Extra vars (override wrangler.jsonc and .dev.vars), e.g. ADMIN_TOKEN for tests. */
  vars?: Record<string, string>;
  echo?: boolean;
  logLevel?: "debug" | "info" | "log" | "warn" | "error" | "none";
  /** The watchdog that takes wrangler's process group down if the caller dies. */
  reaper?: Reaper;
}

/** A running local edge. */
export interface EdgeDev {
  url: string;
  process: GroupProcess;
  stop(): Promise<void>;
}

const QUIET_ENV = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" };

/** Applies the D1 migrations to the local database in `persistTo`; throws with wrangler's output on failure. */
export function applyLocalMigrations(persistTo: string): void {
  const result = spawnSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo], {
    env: { ...process.env, ...QUIET_ENV },
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`wrangler d1 migrations apply failed:\n${result.stdout}\n${result.stderr}`);
}

/** Applies migrations, starts `wrangler dev` on 127.0.0.1:`port` and resolves once it answers. */
export async function startEdgeDev(options: EdgeDevOptions): Promise<EdgeDev> {
  // A fresh state directory gets a copy of a migrated template (3-5 s less per start); an existing one is migrated.
  if (hasLocalD1(options.persistTo)) applyLocalMigrations(options.persistTo);
  else seedMigratedState(options.persistTo, applyLocalMigrations);
  const args = [
    "wrangler",
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(options.port),
    "--persist-to",
    options.persistTo,
    "--show-interactive-dev-session=false",
    "--inspector-port",
    "0",
    "--log-level",
    options.logLevel ?? "info",
  ];
  for (const [key, value] of Object.entries(options.vars ?? {})) args.push("--var", `${key}:${value}`);
  const process_ = spawnGroup("edge", "npx", args, { env: { ...process.env, ...QUIET_ENV }, echo: options.echo, reaper: options.reaper });
  const url = `http://127.0.0.1:${options.port}`;
  try {
    await waitForHttp(`${url}/healthz`, 60_000, () => process_.child.exitCode === null);
  } catch (err) {
    await process_.stop();
    throw new Error(`${(err as Error).message} (wrangler dev: ${process_.exitDescription() ?? "stopped"})\n${process_.tail().join("\n")}`);
  }
  return { url, process: process_, stop: () => process_.stop() };
}
