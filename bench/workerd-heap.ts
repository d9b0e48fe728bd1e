// Follows each isolate's V8 heap inside a running workerd next to the process's RSS: it finds workerd's own inspector
// socket (Miniflare starts workerd with `--inspector-addr` on a free port whenever an inspector is asked for, as
// wrangler dev always does), attaches to every isolate it lists (the Worker, and Miniflare's R2, D1, cache and KV
// simulators are isolates of their own) and reads Runtime.getHeapUsage every interval (workerd leaves
// HeapProfiler.collectGarbage unanswered, so a heap's trend is read across samples, not after a forced GC).
// It tells memory a Worker's JavaScript keeps alive (an isolate's heap grows from sample to sample) from memory workerd holds
// outside V8 (RSS grows while every heap stays level).
// CLI: `node bench/workerd-heap.ts <workerd pid> [interval s, 60] [duration s, 3600]`, one JSON line per sample.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { type DevtoolsSession, openDevtoolsSession, samplerArgs } from "./devtools-session.ts";
import { sampleProcess } from "./proc.ts";
import { sleep } from "./stats.ts";

/** One isolate's heap in MiB: used (live objects, and garbage not collected yet), reserved, and the
 *  backing stores of its ArrayBuffers (outside the heap). */
export interface IsolateHeap {
  usedMiB: number;
  totalMiB: number;
  backingMiB: number;
}

/** One sample: seconds since the first, workerd's RSS and anonymous memory, and each isolate's heap by its name. */
export interface WorkerdHeapSample {
  t: number;
  rssMiB: number;
  anonMiB: number;
  isolates: Record<string, IsolateHeap>;
}

const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

/** TCP ports `pid` listens on, from its socket inodes and /proc/net/tcp (state 0A: LISTEN). */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // the descriptor closed while we looked
    }
  }
  const ports: number[] = [];
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[3] === "0A" && inodes.has(cols[9] ?? "")) ports.push(Number.parseInt(cols[1]!.split(":")[1]!, 16));
  }
  return ports;
}

/** The port of workerd `pid`'s own inspector: the first it listens on that answers /json with a list of targets. */
export async function inspectorPort(pid: number): Promise<number> {
  for (const port of listeningPorts(pid)) {
    const targets = await fetch(`http://127.0.0.1:${port}/json`, { signal: AbortSignal.timeout(2_000) })
      .then((r) => (r.ok ? r.json() : null))
      .catch(() => null);
    if (Array.isArray(targets) && targets.length > 0) return port;
  }
  throw new Error(`workerd ${pid}: no inspector among its listening ports (start it with an inspector port)`);
}

/**
 * Attaches to the isolates the inspector on `port` lists that `sessions` lacks. workerd refuses a target whose
 * isolate does not exist yet (a simulator not used so far), so this is called again before each sample.
 */
async function attachNew(port: number, sessions: Map<string, DevtoolsSession>): Promise<void> {
  const targets = (await fetch(`http://127.0.0.1:${port}/json`).then((r) => r.json())) as { id: string }[];
  for (const { id } of targets) {
    if (sessions.has(id)) continue;
    const session = await openDevtoolsSession(id, `ws://127.0.0.1:${port}/${id}`, 5_000).catch(() => null);
    if (!session) continue;
    sessions.set(id, session);
  }
}

/** One sample of every attached isolate's heap. */
async function sampleIsolates(pid: number, sessions: Map<string, DevtoolsSession>, t0: number): Promise<WorkerdHeapSample> {
  const isolates: Record<string, IsolateHeap> = {};
  for (const session of sessions.values()) {
    // workerd may leave a second session on a busy isolate unanswered (the Worker's, under load): it is left out.
    const heap = await session
      .call<{ usedSize?: number; totalSize?: number; backingStorageSize?: number }>("Runtime.getHeapUsage")
      .catch(() => ({ usedSize: undefined, totalSize: undefined, backingStorageSize: undefined }));
    isolates[session.name] = {
      usedMiB: mib(heap.usedSize ?? Number.NaN),
      totalMiB: mib(heap.totalSize ?? Number.NaN),
      backingMiB: mib(heap.backingStorageSize ?? Number.NaN),
    };
  }
  // VmRSS is RssAnon + RssFile + RssShmem: one read of /proc gives both figures.
  const proc = sampleProcess(pid);
  const rssMiB = proc?.rssMiB ?? Number.NaN;
  return { t: Math.round((Date.now() - t0) / 1000), rssMiB, anonMiB: Math.round((rssMiB - (proc?.rssFileMiB ?? Number.NaN)) * 10) / 10, isolates };
}

if (import.meta.main) {
  const { pid, intervalMs, endAt } = samplerArgs("node bench/workerd-heap.ts <workerd pid> [interval s, 60] [duration s, 3600]", {
    intervalS: 60,
    durationS: 3600,
  });
  const port = await inspectorPort(pid);
  const sessions = new Map<string, DevtoolsSession>();
  const t0 = Date.now();
  while (Date.now() < endAt) {
    await attachNew(port, sessions);
    console.log(JSON.stringify(await sampleIsolates(pid, sessions, t0)));
    await sleep(intervalMs);
  }
  for (const session of sessions.values()) session.close();
}
