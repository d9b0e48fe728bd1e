// Runs the edge Worker locally under `wrangler dev` (local D1/R2/Durable Objects) with migrations applied.
import { spawn } from "node:child_process";
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

/**
 * V8 flags of wrangler dev's workerd processes. Each runs ~25 isolates (the Worker, and Miniflare's R2, D1, cache,
 * assets and entry Workers; wrangler's proxy), and without these they grew by hundreds of MiB with traffic: V8 grew
 * every isolate's young generation toward its 16 MiB default maximum, and dead objects that hold native memory (request
 * and response bodies) waited for a full GC that a small JS heap gives V8 no reason to run (a forced full GC of
 * every isolate freed a third of the Worker's process). A 1 MiB semi-space, and every GC a full one, keep both flat
 * (docs/BENCHMARKS.md, "Memory over time"); the full GCs are of small heaps.
 */
export const EDGE_V8_FLAGS = ["--max-semi-space-size=1", "--gc-global"];

/**
 * Environment of every wrangler command we run. MINIFLARE_WORKERD_V8_FLAGS passes EDGE_V8_FLAGS to workerd;
 * X_LOCAL_OBSERVABILITY=false: wrangler dev otherwise attaches a trace collector to the Worker that stores every
 * request's spans (each R2, Durable Object and cache call) in a local SQLite store nothing prunes, for a local
 * explorer we do not use.
 */
export const WRANGLER_ENV = {
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  CI: "true",
  MINIFLARE_WORKERD_V8_FLAGS: EDGE_V8_FLAGS.join(" "),
  X_LOCAL_OBSERVABILITY: "false",
};

/**
 * Applies the D1 migrations to the local database in `persistTo`; rejects with wrangler's output on failure. Why not
 * spawnSync: it blocks the caller's event loop for the 3-5 s wrangler takes, and a test process that restarts the edge
 * while it also publishes (the fault suite's WHIP client) then goes silent long enough for the node to end that publish.
 */
export function applyLocalMigrations(persistTo: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo], {
      env: { ...process.env, ...WRANGLER_ENV },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-8_000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.once("error", (err) => reject(new Error(`wrangler d1 migrations apply could not start: ${err.message}`)));
    child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`wrangler d1 migrations apply failed:\n${output}`))));
  });
}

/** The `npx` arguments and the environment (over the caller's) of the `wrangler dev` that `startEdgeDev` runs. */
export function wranglerDevCommand(options: EdgeDevOptions): { args: string[]; env: Record<string, string> } {
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
  return { args, env: { ...WRANGLER_ENV } };
}

/** Applies migrations, starts `wrangler dev` on 127.0.0.1:`port` and resolves once it answers. */
export async function startEdgeDev(options: EdgeDevOptions): Promise<EdgeDev> {
  // A fresh state directory gets a copy of a migrated template (3-5 s less per start); an existing one is migrated.
  if (hasLocalD1(options.persistTo)) await applyLocalMigrations(options.persistTo);
  else await seedMigratedState(options.persistTo, applyLocalMigrations);
  const command = wranglerDevCommand(options);
  const process_ = spawnGroup("edge", "npx", command.args, { env: { ...process.env, ...command.env }, echo: options.echo, reaper: options.reaper });
  const url = `http://127.0.0.1:${options.port}`;
  try {
    await waitForHttp(`${url}/healthz`, 60_000, () => process_.child.exitCode === null);
  } catch (err) {
    await process_.stop();
    throw new Error(`${(err as Error).message} (wrangler dev: ${process_.exitDescription() ?? "stopped"})\n${process_.tail().join("\n")}`);
  }
  return { url, process: process_, stop: () => process_.stop() };
}
