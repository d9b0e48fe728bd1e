// Starts the edge Worker as it deploys (the bundle `wrangler deploy --dry-run` writes) on workerd through Miniflare's
// API, with no wrangler dev proxy in front: the fan-out benchmark's edge. Same bindings and vars as wrangler.jsonc.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { freePort } from "../scripts/lib/free-port.ts";
import { type GroupProcess, spawnGroup } from "../scripts/lib/processes.ts";

/** Credentials of the direct edge. */
const ADMIN_TOKEN = "bench-direct-admin-token";
export const DIRECT_INGEST_SECRET = "bench-direct-ingest-secret";

/** A running direct edge with the API calls the fan-out benchmark needs. */
export interface DirectEdge {
  process: GroupProcess;
  url(path: string): string;
  /** Calls the control API as the admin. */
  api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

/** Bundles the Worker (or the bench-only `entry` that wraps it, relative to the repository) and starts it on a free port
 *  with `vars` on top of wrangler.jsonc's; `v8Flags` go to its workerd (none by default: the Worker as it deploys). */
export async function startDirectEdge(vars: Record<string, string> = {}, entry?: string, v8Flags: readonly string[] = []): Promise<DirectEdge> {
  const root = join(import.meta.dirname, "..");
  const dir = mkdtempSync(join(tmpdir(), "edgecast-direct-"));
  const bundleDir = join(dir, "dist");
  const build = spawnSync("npx", ["wrangler", "deploy", ...(entry ? [entry] : []), "--dry-run", "--outdir", bundleDir], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" },
    encoding: "utf8",
  });
  if (build.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${build.stdout}\n${build.stderr}`);
  const port = await freePort();
  const allVars = { ADMIN_TOKEN, INGEST_SECRET: DIRECT_INGEST_SECRET, ...vars };
  let ready: (url: string) => void = () => undefined;
  const readyUrl = new Promise<string>((resolve) => (ready = resolve));
  const output: string[] = [];
  const child = spawnGroup(
    "edge-direct",
    process.execPath,
    [
      join(import.meta.dirname, "edge-direct-server.ts"),
      bundleDir,
      String(port),
      join(dir, "state"),
      JSON.stringify(allVars),
      entry ? `${basename(entry).replace(/\.ts$/, "")}.js` : "index.js",
    ],
    {
      cwd: root,
      // Miniflare hands MINIFLARE_WORKERD_V8_FLAGS to the workerd it spawns (as wrangler dev does); an inherited value is dropped.
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", MINIFLARE_WORKERD_V8_FLAGS: v8Flags.join(" ") },
      onLine: (line) => {
        output.push(line);
        const match = /^ready (\S+)/.exec(line);
        if (match) ready(match[1]!);
      },
    },
  );
  const origin = await Promise.race([
    readyUrl,
    child.exited.then((code) => Promise.reject(new Error(`the direct edge exited (${code}):\n${output.join("\n")}`))),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the direct edge did not start in 60 s:\n${output.join("\n")}`)), 60_000).unref()),
  ]).catch(async (err: Error) => {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  return {
    process: child,
    url: (path) => `${origin}${path}`,
    async api(method, path, body) {
      const response = await fetch(`${origin}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: response.status, body: parsed as never };
    },
    async stop() {
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
