// `npm start -- --workers N`: a local transcoding pool — redis-server on 127.0.0.1 (its data under the state dir) and
// N transcode workers, for a node started with TRANSCODE=queue.
import { mkdirSync } from "node:fs";
import { StartPrerequisiteError } from "./ensure-ffmpeg.ts";
import { type GroupProcess, spawnGroup, waitForHttp } from "./processes.ts";
import type { Reaper } from "./reaper.ts";
import { aptInstall, canUseApt, hasCommand, NO_AUTO_INSTALL_ENV } from "./system-packages.ts";

/** What npm start says when there is no redis-server. */
export const REDIS_MISSING = "--workers needs redis-server: install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis)";

/** The number of workers `--workers N` / `--workers=N` asks for (0 without the flag); throws on a bad N. */
export function workersFlag(argv: string[]): number {
  const at = argv.findIndex((a) => a === "--workers" || a.startsWith("--workers="));
  if (at === -1) return 0;
  const raw = argv[at]!.includes("=") ? argv[at]!.split("=")[1] : argv[at + 1];
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 16)
    throw new StartPrerequisiteError(`--workers: expected a whole number from 1 to 16, got ${JSON.stringify(raw ?? "")}`);
  return n;
}

/** Makes sure redis-server exists: installed with apt-get when allowed, else StartPrerequisiteError with one line. */
export function ensureRedis(): void {
  if (hasCommand("redis-server")) return;
  if (canUseApt()) {
    console.log(`• redis-server is missing: installing it with apt-get (set ${NO_AUTO_INSTALL_ENV}=1 to never do this)`);
    if (aptInstall(["redis-server"]) && hasCommand("redis-server")) return;
    throw new StartPrerequisiteError(`apt-get could not install redis-server (see its output above); ${REDIS_MISSING}`);
  }
  throw new StartPrerequisiteError(REDIS_MISSING);
}

/** Starts redis-server on 127.0.0.1:`port` (append-only file in `dir`) and resolves once it answers. */
export async function startRedisDev(options: { port: number; dir: string; reaper?: Reaper }): Promise<GroupProcess> {
  mkdirSync(options.dir, { recursive: true });
  const args = ["--port", String(options.port), "--bind", "127.0.0.1", "--dir", options.dir, "--appendonly", "yes", "--save", ""];
  const redis = spawnGroup("redis", "redis-server", args, { reaper: options.reaper });
  const deadline = Date.now() + 10_000;
  while (!redis.tail().some((line) => line.includes("Ready to accept connections"))) {
    if (redis.child.exitCode !== null || Date.now() > deadline) {
      await redis.stop();
      throw new Error(`redis-server did not start: ${redis.tail().slice(-3).join(" | ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return redis;
}

/** Starts transcode worker `id` and resolves once its /healthz answers. */
export async function startWorkerDev(options: {
  id: string;
  redisUrl: string;
  edgeUrl: string;
  httpPort: number;
  env?: Record<string, string>;
  reaper?: Reaper;
  onLine?: (line: string) => void;
}): Promise<GroupProcess> {
  const env = {
    ...process.env,
    REDIS_URL: options.redisUrl,
    EDGE_URL: options.edgeUrl,
    NODE_ID: options.id,
    HTTP_HOST: "127.0.0.1",
    HTTP_PORT: String(options.httpPort),
    ...options.env,
  };
  const worker = spawnGroup(options.id, process.execPath, ["ingest-node/src/worker-main.ts"], { env, reaper: options.reaper, onLine: options.onLine });
  try {
    await waitForHttp(`http://127.0.0.1:${options.httpPort}/healthz`, 30_000, () => worker.child.exitCode === null);
  } catch (err) {
    await worker.stop();
    throw new Error(`${(err as Error).message}\n${worker.tail().slice(-5).join("\n")}`);
  }
  return worker;
}
