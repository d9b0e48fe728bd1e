// CPU time of the child processes this process has reaped (its FFmpeg runs), from /proc/self/stat on Linux: a worker
// running one job at a time logs the delta across a job as that job's FFmpeg CPU (for sizing: cores per rung).
import { readFileSync } from "node:fs";

/** Linux's clock ticks per second (USER_HZ), which /proc reports times in; 100 on every mainstream architecture. */
const TICKS_PER_S = 100;

/** CPU ms (user + system) of every child this process waited for so far, or null where /proc is not there. */
export function reapedChildrenCpuMs(): number | null {
  try {
    return parseReapedChildrenCpuMs(readFileSync("/proc/self/stat", "utf8"));
  } catch {
    return null;
  }
}

/** The `cutime` + `cstime` fields of a /proc/<pid>/stat line, in ms. */
export function parseReapedChildrenCpuMs(stat: string): number {
  // The command name (field 2) may hold spaces and parentheses: fields are counted from after its closing one.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // cutime and cstime are fields 16 and 17 of the line, 14 and 15 after the name and state.
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / TICKS_PER_S;
}
