// Runs a child process at a lower CPU priority than its parent, so the parent's event loop keeps its turn on the cores.
import { setPriority } from "node:os";

/** Highest nice value Linux knows (the lowest priority). */
export const MAX_NICE = 19;

/**
 * Raises the nice value of the just-spawned process `pid` to `nice` (0: leaves it alone). Call it right after spawn:
 * on Linux a nice value belongs to a thread, and the threads a process starts later (x264's) inherit it, while one
 * started before this call would keep the old value. An FFmpeg starts its threads only once it has opened its input
 * and encoder, well after spawn returns. A process that already exited, or a platform that refuses, is left as it is:
 * the priority only decides who waits when the cores are full.
 */
export function lowerPriority(pid: number | undefined, nice: number): void {
  if (nice <= 0 || pid === undefined) return;
  try {
    setPriority(pid, Math.min(nice, MAX_NICE));
  } catch {
    // Gone already, or not allowed here: it runs at its parent's priority.
  }
}
