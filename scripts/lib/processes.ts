// Child processes for the start script and tests: own process groups, readable output, clean shutdown.
import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";

/** A child started in its own process group, so stopping it stops its children too (workerd, esbuild). */
export interface GroupProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  stop(timeoutMs?: number): Promise<void>;
}

/** Spawns `command` detached in a new process group; lines of its output are prefixed with `[name]` when `echo`. */
export function spawnGroup(
  name: string,
  command: string,
  args: string[],
  options: SpawnOptions & { echo?: boolean; onLine?: (line: string) => void } = {},
): GroupProcess {
  const child = spawn(command, args, { ...options, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const forward = (stream: NodeJS.ReadableStream | null) => {
    let buffered = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        options.onLine?.(line);
        if (options.echo) console.log(`[${name}] ${line}`);
      }
    });
  };
  forward(child.stdout);
  forward(child.stderr);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  // The child has its own process group, so it would outlive us: take the whole group down when this process exits.
  const killOnExit = () => {
    try {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  process.once("exit", killOnExit);
  void exited.then(() => process.off("exit", killOnExit));
  return {
    name,
    child,
    exited,
    async stop(timeoutMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      const signalGroup = (signal: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          // the group is already gone
        }
      };
      signalGroup("SIGINT");
      const timer = setTimeout(() => signalGroup("SIGKILL"), timeoutMs);
      await exited;
      clearTimeout(timer);
      // workerd may outlive wrangler's own exit: make sure nothing of the group is left.
      signalGroup("SIGKILL");
    },
  };
}

/** Polls `url` until it answers (any HTTP status) or `timeoutMs` passes. */
export async function waitForHttp(url: string, timeoutMs: number, isAlive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`the process serving ${url} exited before it was ready`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}
