// `npm start` as a newcomer meets it: on a machine without ffmpeg, with a port already taken, with a component that
// dies, and killed hard itself. The start script runs as `npm start` runs it (node_modules/.bin/node scripts/start.ts)
// with its own state directory, free ports, and a marker in its environment that every descendant inherits, so the
// test can tell whether anything it started is still running.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/free-port.ts";
import { portTaken } from "../../scripts/lib/port-owner.ts";

const NODE = realpathSync("node_modules/.bin/node");
const MARK = "EDGECAST_FIRST_RUN_MARK";

interface StartRun {
  child: ChildProcess;
  mark: string;
  ports: { edge: number; rtmp: number; ops: number };
  stateDir: string;
  output(): string;
  exited: Promise<number | null>;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<void>;
}

const runs: StartRun[] = [];
const temps: string[] = [];
const servers: Server[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "edgecast-first-run-"));
  temps.push(dir);
  return dir;
}

/** Starts the start script with `env` on top of a minimal environment (PATH from `env`, else this process's). */
async function runStart(env: Record<string, string>, args: string[] = [], prepare?: (stateDir: string) => void): Promise<StartRun> {
  const mark = randomUUID();
  const ports = { edge: await freePort(), rtmp: await freePort(), ops: await freePort(), whip: await freePort() };
  const stateDir = join(tempDir(), "state");
  prepare?.(stateDir);
  const child = spawn(NODE, ["scripts/start.ts", ...args], {
    env: {
      HOME: process.env.HOME ?? "/root",
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      EDGE_PORT: String(ports.edge),
      RTMP_PORT: String(ports.rtmp),
      OPS_PORT: String(ports.ops),
      WHIP_PORT: String(ports.whip),
      EDGECAST_STATE_DIR: stateDir,
      [MARK]: mark,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  const listeners = new Set<() => void>();
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      text += chunk;
      for (const listener of listeners) listener();
    });
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", () => resolve(null));
  });
  const run: StartRun = {
    child,
    mark,
    ports,
    stateDir,
    exited,
    output: () => text,
    waitFor(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pattern.test(text)) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern}; output so far:\n${text}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exited.then(() => {
          if (!pattern.test(text)) {
            cleanup();
            reject(new Error(`the start script exited before ${pattern}; output:\n${text}`));
          }
        });
        check();
      });
    },
  };
  runs.push(run);
  return run;
}

/** Live (not zombie) processes whose environment carries the run's marker, with their command lines. */
function markedProcesses(mark: string): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readFileSync(`/proc/${name}/environ`, "latin1").split("\0").includes(`${MARK}=${mark}`)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, "latin1");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      found.push({ pid: Number(name), cmdline: readFileSync(`/proc/${name}/cmdline`, "latin1").replaceAll("\0", " ").trim() });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

async function takenPorts(run: StartRun): Promise<number[]> {
  const taken: number[] = [];
  for (const port of Object.values(run.ports)) if (await portTaken(port)) taken.push(port);
  return taken;
}

/** Polls until nothing of the run is alive and its ports are free; resolves with how long that took (ms). */
async function waitUntilGone(run: StartRun, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const left = markedProcesses(run.mark);
    const ports = await takenPorts(run);
    if (left.length === 0 && ports.length === 0) return Date.now() - started;
    if (Date.now() - started > timeoutMs) {
      throw new Error(`still running after ${timeoutMs} ms: ${JSON.stringify(left)}; ports taken: ${ports.join(", ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

afterEach(async () => {
  for (const run of runs.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL");
    // Whatever a failed assertion left behind, by pid and only ours.
    for (const { pid } of markedProcesses(run.mark)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
  for (const server of servers.splice(0)) server.close();
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("npm start on a bare machine", () => {
  it("without ffmpeg (and no automatic install): one clear line, exit status 1, nothing left running, no key printed", { timeout: 60_000 }, async () => {
    // A PATH with only what the script needs to get that far: no ffmpeg, no apt-get.
    const bin = tempDir();
    symlinkSync(NODE, join(bin, "node"));
    symlinkSync("/bin/sh", join(bin, "sh"));
    // The npm fallback is installed (optionalDependencies): start must still refuse it (README: "npm start insists").
    expect(existsSync("node_modules/@ffmpeg-installer/ffmpeg")).toBe(true);
    const key = `sk_${randomBytes(24).toString("base64url")}`;
    // A demo stream from an earlier run: its key must not appear anywhere.
    const run = await runStart({ PATH: bin, EDGECAST_NO_AUTO_INSTALL: "1" }, [], (stateDir) => {
      mkdirSync(stateDir, { recursive: true });
      writeFileSync(join(stateDir, "demo-stream.json"), JSON.stringify({ stream_id: randomUUID(), stream_key: key }));
    });

    const code = await run.exited;
    const lines = run
      .output()
      .split("\n")
      .filter((line) => line.trim() !== "");
    expect(code).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^✗ ffmpeg is not installed: install it \(Debian\/Ubuntu: sudo apt-get install ffmpeg; macOS: brew install ffmpeg\) or set FFMPEG_PATH/,
    );
    expect(run.output()).not.toContain(key);
    expect(run.output()).not.toContain(key.slice(3));
    expect(run.output()).not.toMatch(/sk_[A-Za-z0-9_-]{32}/);
    expect(markedProcesses(run.mark)).toEqual([]);
    expect(await takenPorts(run)).toEqual([]);
    expect(readdirSync(run.stateDir)).toEqual(["demo-stream.json"]);
  });

  it("with a port already taken: names the port and the pid holding it, exit status 1, nothing started", { timeout: 60_000 }, async () => {
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const run = await runStart({ RTMP_PORT: String(port) });
    expect(await run.exited).toBe(1);
    const lines = run
      .output()
      .split("\n")
      .filter((line) => line.trim() !== "");
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^✗ port ${port} is in use by pid ${process.pid} \\(\\S+\\): .*RTMP_PORT=`))]);
    expect(markedProcesses(run.mark)).toEqual([]);
    expect(existsSync(join(run.stateDir, "state"))).toBe(false);
  });

  it("a component that dies is named with how it ended and its last lines; the rest is stopped", { timeout: 150_000 }, async () => {
    const run = await runStart({ LADDER: "test", X264_PRESET: "ultrafast" }, ["--no-demo"]);
    await run.waitFor(/Stop {13}Ctrl-C/, 120_000);
    const node = markedProcesses(run.mark).find((p) => p.cmdline.includes("ingest-node/src/main.ts"));
    expect(node).toBeDefined();
    process.kill(node!.pid, "SIGKILL");
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(
      /✗ the ingest node exited unexpectedly \(killed by SIGKILL\); stopping the rest\.\n {2}Its last lines:\n {4}[\s\S]*INFO {2}node {5}ingest node ready rtmp=rtmp:\/\/127\.0\.0\.1:\d+\/live /,
    );
    await waitUntilGone(run, 10_000);
  });

  it("past EDGE_MAX_RSS_MB the edge is restarted, its successor answers and is watched in turn", { timeout: 180_000 }, async () => {
    // A cap every edge is over: each check restarts it, so one run shows a restart, a successor that answers, a second
    // restart of that successor (not a crash report), and a clean stop.
    const run = await runStart({ LADDER: "test", X264_PRESET: "ultrafast", EDGE_MAX_RSS_MB: "1", EDGE_MEMORY_CHECK_SECONDS: "1" }, ["--no-demo"]);
    await run.waitFor(/Stop {13}Ctrl-C/, 120_000);
    await run.waitFor(/the edge's workerd processes hold \d+ MiB \(EDGE_MAX_RSS_MB=1\): restarting the edge/, 10_000);
    await run.waitFor(/edge ready again on /, 60_000);
    let answered = false;
    for (const deadline = Date.now() + 30_000; !answered && Date.now() < deadline; ) {
      answered = (await fetch(`http://127.0.0.1:${run.ports.edge}/healthz`).catch(() => null))?.status === 200;
      if (!answered) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(answered).toBe(true);
    await run.waitFor(/edge ready again on [\s\S]*restarting the edge/, 30_000);
    expect(run.output()).not.toMatch(/exited unexpectedly/);
    expect(run.child.exitCode).toBeNull();
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
    await waitUntilGone(run, 15_000);
  });

  it("killed hard (SIGKILL): its children (edge, ingest node, publisher, FFmpeg) are gone within seconds, ports free", { timeout: 150_000 }, async () => {
    const run = await runStart({ LADDER: "test", X264_PRESET: "ultrafast" });
    await run.waitFor(/Stop {13}Ctrl-C/, 120_000);
    const before = markedProcesses(run.mark);
    // wrangler and workerd, the ingest node, the publisher's ffmpeg, the watchdog (and the node's own ffmpeg once live).
    expect(before.some((p) => p.cmdline.includes("wrangler"))).toBe(true);
    expect(before.some((p) => p.cmdline.includes("ingest-node/src/main.ts"))).toBe(true);
    expect(before.some((p) => /ffmpeg .*testsrc2/.test(p.cmdline))).toBe(true);
    // Edge, RTMP, ops and WHIP.
    expect(await takenPorts(run)).toHaveLength(4);
    run.child.kill("SIGKILL");
    await run.exited;
    const tookMs = await waitUntilGone(run, 8_000);
    expect(tookMs).toBeLessThan(8_000);
  });
});
