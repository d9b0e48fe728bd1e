// Children of `npm start` must not outlive it: each runs in its own process group (so Ctrl-C reaches the start
// script, which stops them in order), which also means nothing takes them down when the start script is killed hard.
// The reaper is a tiny watchdog process that does (scripts/lib/reaper-main.ts).
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { Writable } from "node:stream";

/** The parent-side handle of the watchdog: tell it what to take down if this process dies. */
export interface Reaper {
  /** Take down the process group `pgid` (a child spawned detached) when this process dies. */
  watchGroup(pgid: number): void;
  /** Take down the single process `pid` when this process dies. */
  watchPid(pid: number): void;
  /** Forget a group or pid (it was stopped on purpose; its id may be reused). */
  forget(kind: "group" | "pid", id: number): void;
}

/** Starts the watchdog; returns a no-op reaper if it cannot be started (the normal shutdown paths still work). */
export function startReaper(): Reaper {
  const child = spawn(process.execPath, [join(import.meta.dirname, "reaper-main.ts")], {
    detached: true,
    stdio: ["pipe", "ignore", "ignore"],
  });
  let stdin: Writable | null = child.stdin;
  child.on("error", () => {
    stdin = null;
  });
  child.stdin?.on("error", () => {
    stdin = null;
  });
  child.unref();
  // The pipe must not keep this process alive; its EOF (at our exit, whatever the cause) is the watchdog's signal.
  (child.stdin as unknown as { unref?(): void } | null)?.unref?.();
  const send = (line: string) => stdin?.write(`${line}\n`);
  return {
    watchGroup: (pgid) => send(`+g${pgid}`),
    watchPid: (pid) => send(`+p${pid}`),
    forget: (kind, id) => send(`-${kind === "group" ? "g" : "p"}${id}`),
  };
}
