// Child processes for the start script and tests: own process groups, readable output, clean shutdown.
import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";
import { onProcessExit } from "./exit-hooks.ts";
import type { Reaper } from "./reaper.ts";
import { redactSecrets } from "./redact.ts";

/** Lines of a child's output kept for the report when it exits unexpectedly. */
const TAIL_LINES = 20;

/** A child started in its own process group, so stopping it stops its children too (workerd, esbuild). */
export interface GroupProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Its last lines of output (stdout and stderr), secrets redacted, oldest first. */
  tail(): string[];
  /** How it ended: "exit code 1", "killed by SIGKILL", "could not start: ENOENT"; null while it runs. */
  exitDescription(): string | null;
  stop(timeoutMs?: number): Promise<void>;
}

/** Spawns `command` detached in a new process group; lines of its output are prefixed with `[name]` when `echo`. */
export function spawnGroup(
  name: string,
  command: string,
  args: string[],
  options: SpawnOptions & { echo?: boolean; onLine?: (line: string) => void; reaper?: Reaper } = {},
): GroupProcess {
  const child = spawn(command, args, { ...options, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid !== undefined) options.reaper?.watchGroup(child.pid);
  const tail: string[] = [];
  let spawnError: string | null = null;
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
        tail.push(redactSecrets(line, args));
        if (tail.length > TAIL_LINES) tail.shift();
      }
    });
  };
  forward(child.stdout);
  forward(child.stderr);
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    // Without this listener a spawn failure (ENOENT) would crash the parent and print the child's whole argv.
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return;
      spawnError = `could not start: ${error.code ?? error.message}`;
      resolve(null);
    });
  });
  // The child has its own process group, so it would outlive us: take the whole group down when this process exits
  // (members such as workerd may outlive the leader, so this holds until stop() has made sure the group is gone).
  const killOnExit = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  const dropExitHook = onProcessExit(killOnExit);
  return {
    name,
    child,
    exited,
    tail: () => [...tail],
    exitDescription() {
      if (spawnError) return spawnError;
      if (child.signalCode) return `killed by ${child.signalCode}`;
      if (child.exitCode !== null) return `exit code ${child.exitCode}`;
      return null;
    },
    async stop(timeoutMs = 5000) {
      const pid = child.pid;
      if (pid === undefined) return;
      const signalGroup = (signal: NodeJS.Signals) => {
        try {
          process.kill(-pid, signal);
        } catch {
          // the group is already gone
        }
      };
      if (child.exitCode === null && child.signalCode === null) {
        signalGroup("SIGINT");
        const timer = setTimeout(() => signalGroup("SIGKILL"), timeoutMs);
        await exited;
        clearTimeout(timer);
      }
      // workerd may outlive wrangler's own exit (also when the leader died on its own): leave nothing of the group.
      signalGroup("SIGKILL");
      dropExitHook();
      options.reaper?.forget("group", pid);
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
