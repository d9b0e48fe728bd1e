// `npm start`: the whole system on 127.0.0.1 — the edge under wrangler dev on :8787, an ingest node on :1935 pointed
// at it, and (unless --no-demo) a demo stream publishing a test pattern. Ctrl-C stops every child; so does a watchdog
// when this process dies any other way. Before it starts anything it makes sure of FFmpeg and of free ports.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { FfmpegBinaries } from "../ingest-node/src/transcode/ffmpeg-binary.ts";
import { type EdgeDevOptions, startEdgeDev } from "./lib/edge-dev.ts";
import { edgeMemorySettings, groupRssMiB, startEdgeMemoryGuard } from "./lib/edge-memory-guard.ts";
import { ensureFfmpeg } from "./lib/ensure-ffmpeg.ts";
import { startIngestDev } from "./lib/ingest-dev.ts";
import { ensureRedis, startRedisDev, startWorkerDev, workersFlag } from "./lib/pool-dev.ts";
import { describeTakenPorts } from "./lib/port-owner.ts";
import type { GroupProcess } from "./lib/processes.ts";
import { startReaper } from "./lib/reaper.ts";
import { redactSecrets } from "./lib/redact.ts";
import { startTestPublisher, type TestPublisher } from "./lib/test-publisher.ts";

const args = new Set(process.argv.slice(2));
// EDGECAST_STATE_DIR moves every piece of local state (D1/R2/DO, the demo stream, the spool) elsewhere, e.g. for tests.
const stateDir = process.env.EDGECAST_STATE_DIR;
const persistTo = stateDir ? join(stateDir, "state") : ".wrangler/state";
const demoFile = stateDir ? join(stateDir, "demo-stream.json") : ".wrangler/demo-stream.json";
const spoolDir = stateDir ? join(stateDir, "ingest-spool") : ".ingest-spool";
const EDGE_PORT = Number(process.env.EDGE_PORT ?? 8787);
const RTMP_PORT = Number(process.env.RTMP_PORT ?? 1935);
const OPS_PORT = Number(process.env.OPS_PORT ?? 9935);
/** The node's WHIP (WebRTC publishing) listener. */
const WHIP_PORT = Number(process.env.WHIP_PORT ?? 8889);
/** The node's SRT listener (UDP; the node runs on without SRT when it cannot bind it, and says so). */
const SRT_PORT = Number(process.env.SRT_PORT ?? 9000);
// --workers N: the node only copies the source (TRANSCODE=queue) and N local transcode workers make the ladder,
// through a redis-server of its own on REDIS_PORT (not 6379, which a system Redis may hold). Their ops ports follow
// OPS_PORT.
let WORKERS = 0;
const REDIS_PORT = Number(process.env.REDIS_PORT ?? 6390);

// Nothing is started (nor written) before these checks: each failure is one line and exit status 1.
let ffmpeg: FfmpegBinaries;
let edgeMemory: ReturnType<typeof edgeMemorySettings>;
try {
  edgeMemory = edgeMemorySettings(process.env);
  ffmpeg = await ensureFfmpeg();
  WORKERS = workersFlag(process.argv.slice(2));
  if (WORKERS > 0) ensureRedis();
  const taken = await describeTakenPorts([
    ...(WORKERS > 0 ? [{ port: REDIS_PORT, setting: "REDIS_PORT" }] : []),
    ...Array.from({ length: WORKERS }, (_, i) => ({ port: OPS_PORT + 1 + i, setting: "OPS_PORT" })),
    { port: EDGE_PORT, setting: "EDGE_PORT" },
    { port: RTMP_PORT, setting: "RTMP_PORT" },
    { port: WHIP_PORT, setting: "WHIP_PORT" },
    { port: OPS_PORT, setting: "OPS_PORT" },
  ]);
  if (taken) throw new Error(taken);
} catch (err) {
  console.error(`✗ ${redactSecrets((err as Error).message)}`);
  process.exit(1);
}
const reaper = startReaper();

function readDevVars(): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of readFileSync(".dev.vars", "utf8").split("\n")) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match?.[1]) vars[match[1]] = match[2]!.replace(/^"(.*)"$/, "$1");
  }
  return vars;
}

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("• created .dev.vars from .dev.vars.example (local secrets)");
}
if (args.has("--fresh")) {
  rmSync(persistTo, { recursive: true, force: true });
  rmSync(demoFile, { force: true });
  console.log(`• --fresh: removed ${persistTo}`);
}
const secrets = readDevVars();
const adminToken = secrets.ADMIN_TOKEN ?? "dev-admin-token";

const children: { stop(): Promise<void> }[] = [];
let stopping = false;
async function shutdown(signal: string, code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`\n• ${signal}: stopping the publisher, the ingest node and the edge …`);
  for (const child of children.reverse()) await child.stop().catch(() => {});
  console.log("• stopped");
  process.exit(code);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
// A closed terminal: stop in order as for Ctrl-C (the watchdog covers the case where this process cannot).
process.on("SIGHUP", () => void shutdown("SIGHUP"));
// A crash says what went wrong without Node's default dump (an error of a child process carries its whole argv).
const crash = (err: unknown) => {
  console.error(`✗ unexpected error: ${redactSecrets(err instanceof Error ? (err.stack ?? err.message) : String(err))}`);
  void shutdown("crash", 1);
};
process.on("uncaughtException", crash);
process.on("unhandledRejection", crash);

try {
  console.log("• starting the edge (wrangler dev: local D1, R2 and Durable Objects) …");
  const edgeOptions: EdgeDevOptions = {
    port: EDGE_PORT,
    persistTo,
    logLevel: "warn",
    reaper,
    vars: {
      INGEST_REGIONS: JSON.stringify({ local: `rtmp://127.0.0.1:${RTMP_PORT}/live` }),
      // A .dev.vars made before the pool existed lacks the grant secret; the pool cannot work without one.
      ...(WORKERS > 0 && !secrets.WORKER_GRANT_SECRET ? { WORKER_GRANT_SECRET: "dev-worker-grant-secret" } : {}),
    },
  };
  // Replaced when the memory guard below restarts the edge (same port, same state).
  let edge = await startEdgeDev(edgeOptions);
  children.push({ stop: () => edge.stop() });
  console.log(`  edge ready on ${edge.url}`);

  const redisUrl = `redis://127.0.0.1:${REDIS_PORT}`;
  if (WORKERS > 0) {
    console.log(`• starting redis-server on 127.0.0.1:${REDIS_PORT} (the transcoding pool's queue) …`);
    const redis = await startRedisDev({ port: REDIS_PORT, dir: join(dirname(persistTo), "redis"), reaper });
    children.push(redis);
  }
  console.log("• starting an ingest node …");
  const node = await startIngestDev({
    edgeUrl: edge.url,
    // The bootstrap secret only registers the node: it then uses the credential the edge mints for it.
    ingestSecret: secrets.INGEST_SECRET ?? "dev-ingest-secret",
    rtmpPort: RTMP_PORT,
    httpPort: OPS_PORT,
    ladder: process.env.LADDER ?? "default",
    preset: process.env.X264_PRESET ?? "veryfast",
    spoolDir,
    reaper,
    env: {
      FFMPEG_PATH: ffmpeg.ffmpeg,
      WHIP_PORT: String(WHIP_PORT),
      SRT_PORT: String(SRT_PORT),
      ...(WORKERS > 0 ? { TRANSCODE: "queue", REDIS_URL: redisUrl } : {}),
    },
    onLine: (line) => {
      if (/ WARN | ERROR |publish accepted|publish refused|publisher left/.test(line)) console.log(`  [ingest] ${line.slice(25)}`);
    },
  });
  children.push(node);
  console.log(`  ingest node ready on rtmp://127.0.0.1:${RTMP_PORT}/live (ops ${node.opsUrl}/metrics)`);
  for (let i = 1; i <= WORKERS; i++) {
    const worker = await startWorkerDev({
      id: `local-worker-${i}`,
      redisUrl,
      edgeUrl: edge.url,
      httpPort: OPS_PORT + i,
      env: { FFMPEG_PATH: ffmpeg.ffmpeg, X264_PRESET: process.env.X264_PRESET ?? "veryfast" },
      reaper,
      onLine: (line) => {
        if (/ WARN | ERROR /.test(line)) console.log(`  [worker ${i}] ${line.slice(25)}`);
      },
    });
    children.push(worker);
  }
  if (WORKERS > 0) console.log(`  ${WORKERS} transcode worker(s) ready (ops http://127.0.0.1:${OPS_PORT + 1}/metrics …)`);

  const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${edge.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json().catch(() => null)) as T };
  };

  let demo: { stream_id: string; stream_key: string } | null = null;
  // The pool makes the ladders of low and standard streams (interactive ones stay node-local): its own demo stream.
  const demoPath = WORKERS > 0 ? demoFile.replace(/\.json$/, "-pool.json") : demoFile;
  if (!args.has("--no-demo")) {
    if (existsSync(demoPath)) {
      const saved = JSON.parse(readFileSync(demoPath, "utf8")) as { stream_id: string; stream_key: string };
      if ((await api("GET", `/streams/${saved.stream_id}`)).status === 200) demo = saved;
    }
    if (!demo) {
      const created = await api<{ stream_id: string; stream_key: string }>("POST", "/streams", {
        title: "Demo: test pattern",
        tags: ["demo"],
        latency_mode: WORKERS > 0 ? "low" : "interactive",
      });
      if (created.status !== 201) throw new Error(`could not create the demo stream: ${JSON.stringify(created.body)}`);
      demo = { stream_id: created.body.stream_id, stream_key: created.body.stream_key };
      mkdirSync(dirname(demoPath), { recursive: true });
      // Local development only: the key is kept so re-runs publish to the same demo stream.
      writeFileSync(demoPath, JSON.stringify(demo), { mode: 0o600 });
    }
    const publish = (clock: boolean): TestPublisher => {
      const started = startTestPublisher({ url: `rtmp://127.0.0.1:${RTMP_PORT}/live/${demo!.stream_key}`, size: "1280x720", clock, ffmpeg: ffmpeg.ffmpeg });
      if (started.child.pid !== undefined) reaper.watchPid(started.child.pid);
      void started.exited.then(() => started.child.pid !== undefined && reaper.forget("pid", started.child.pid));
      return started;
    };
    const running = () => new Promise((resolve) => setTimeout(() => resolve("running"), 2000));
    let publisher = publish(true);
    if ((await Promise.race([publisher.exited, running()])) !== "running") {
      // drawtext needs a font; without one, publish the pattern without the clock.
      publisher = publish(false);
      if ((await Promise.race([publisher.exited, running()])) !== "running") {
        const why = publisher.spawnError() ?? publisher.stderr.slice(-3).join(" | ");
        console.error(`✗ the demo publisher (ffmpeg) stopped at once: ${why || `exit code ${publisher.child.exitCode}`}`);
      }
    }
    children.push(publisher);
  }

  const line = "─".repeat(78);
  console.log(`\n${line}`);
  if (demo) {
    console.log(`  Watch the demo   ${edge.url}/watch/${demo.stream_id}`);
    console.log(`  HLS playlist     ${edge.url}/live/${demo.stream_id}/master.m3u8`);
  }
  console.log(`  Go live from OBS Settings → Stream → Service "Custom…"`);
  console.log(`                   Server      rtmp://127.0.0.1:${RTMP_PORT}/live`);
  console.log(`                   Stream Key  ${demo ? demo.stream_key : "(create a stream with the curl line below)"}`);
  console.log(`  Go live over WHIP http://127.0.0.1:${WHIP_PORT}/whip/<stream id> (OBS 30+: Service "WHIP", Bearer Token = key)`);
  console.log(`  Go live over SRT  srt://127.0.0.1:${SRT_PORT}?streamid=${demo ? demo.stream_key : "<stream key>"}  (the stream's srt_url)`);
  console.log(`  Dashboard        ${edge.url}/dashboard  (sign in with the API token)`);
  console.log(`  API token        ${adminToken}`);
  console.log(`  Try the API      curl -s -X POST ${edge.url}/streams -H 'authorization: Bearer ${adminToken}' \\`);
  console.log(`                     -H 'content-type: application/json' -d '{"title":"My stream"}'`);
  if (WORKERS > 0) {
    console.log(`  Transcoding      the node copies the source; ${WORKERS} pool worker(s) make the ladder (Redis ${redisUrl})`);
  }
  console.log(`  Stop             Ctrl-C`);
  console.log(`${line}\n`);

  // A last resort (README, "Running for hours"; the edge's V8 flags keep it level): past EDGE_MAX_RSS_MB the edge is
  // restarted. Its state is on disk; the ingest node retries its uploads meanwhile, players their requests.
  let restarting: Promise<void> | null = null;
  startEdgeMemoryGuard({
    ...edgeMemory,
    rssMiB: () => groupRssMiB(edge.process.child.pid ?? -1, "workerd"),
    restart: (rss) => {
      restarting = (async () => {
        console.log(`• the edge's workerd processes hold ${Math.round(rss)} MiB (EDGE_MAX_RSS_MB=${edgeMemory.maxMiB}): restarting the edge …`);
        await edge.stop();
        edge = await startEdgeDev(edgeOptions);
        console.log(`  edge ready again on ${edge.url}`);
      })().finally(() => (restarting = null));
      return restarting;
    },
    onError: (err) => {
      console.error(`✗ restarting the edge failed: ${redactSecrets((err as Error).message)}`);
      void shutdown("error", 1);
    },
  });

  let ended: { label: string; process: GroupProcess };
  for (;;) {
    const components: { label: string; process: GroupProcess }[] = [
      { label: "the edge (wrangler dev)", process: edge.process },
      { label: "the ingest node", process: node.process },
    ];
    ended = await Promise.race(components.map((component) => component.process.exited.then(() => component)));
    // An edge the memory guard stopped: wait for its successor and watch that one.
    if (!stopping && restarting && ended.process !== node.process) {
      await (restarting as Promise<void>).catch(() => undefined);
      continue;
    }
    break;
  }
  if (!stopping) {
    const tail = ended.process.tail().slice(-10);
    console.error(`✗ ${ended.label} exited unexpectedly (${ended.process.exitDescription() ?? "unknown"}); stopping the rest.`);
    if (tail.length > 0) console.error(`  Its last lines:\n${tail.map((line) => `    ${line}`).join("\n")}`);
    await shutdown("exit", 1);
  }
} catch (err) {
  console.error(`✗ ${redactSecrets((err as Error).message)}`);
  await shutdown("error", 1);
}
