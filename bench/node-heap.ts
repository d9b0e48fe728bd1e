// Follows a running Node process's V8 heap next to its RSS, through the inspector that SIGUSR1 opens on
// 127.0.0.1:<port> (9229 unless the process was started with another --inspect-port), and forces one full GC at the
// end: it tells a process whose JS heap keeps growing (a leak that survives a full GC) from one whose RSS grows while its
// heap does not (native memory, or garbage V8 has not collected yet). The soak uses it on wrangler's own node process.
// CLI: `node bench/node-heap.ts <pid> [interval s, 30] [duration s, 1500]`, one JSON line per sample.
import { readFileSync } from "node:fs";
import { openDevtoolsSession, samplerArgs } from "./devtools-session.ts";

/**
 * One sample: seconds since the first, RSS, the V8 heap (used, total) and the memory outside it that V8 knows of
 * (`external`, of which `arrayBuffers`: Buffers and their backing stores) in MiB; `tag` marks the forced-GC sample.
 * What RSS has beyond heap and external is the process's native memory (malloc, thread stacks, code).
 */
export interface HeapSample {
  t: number;
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
  tag?: "after forced full GC";
}

/** A process's inspector session: heap usage now, and a forced full GC. */
export interface HeapInspector {
  sample(tag?: HeapSample["tag"]): Promise<HeapSample>;
  collectGarbage(): Promise<void>;
  close(): void;
}

const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

/** RSS of `pid` in MiB, from /proc. */
function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  if (kb === undefined) throw new Error(`pid ${pid}: no VmRSS`);
  return mib(Number(kb) * 1024);
}

/** Opens `pid`'s inspector with SIGUSR1 and connects to it (on 127.0.0.1:`port`). */
export async function inspectHeap(pid: number, port = 9229): Promise<HeapInspector> {
  process.kill(pid, "SIGUSR1");
  const deadline = Date.now() + 10_000;
  let target: { webSocketDebuggerUrl: string } | undefined;
  while (!target) {
    const list = await fetch(`http://127.0.0.1:${port}/json/list`)
      .then((r) => r.json() as Promise<{ webSocketDebuggerUrl: string }[]>)
      .catch(() => []);
    target = list[0];
    if (!target) {
      if (Date.now() > deadline) throw new Error(`pid ${pid}: no inspector on 127.0.0.1:${port} 10 s after SIGUSR1`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  const { call, close } = await openDevtoolsSession(`pid ${pid}`, target.webSocketDebuggerUrl);
  const t0 = Date.now();
  return {
    async sample(tag) {
      const heap = await call<{ usedSize: number; totalSize: number }>("Runtime.getHeapUsage");
      const usage = await call<{ result?: { value?: { external?: number; arrayBuffers?: number } } }>("Runtime.evaluate", {
        expression: "process.memoryUsage()",
        returnByValue: true,
      });
      return {
        t: Math.round((Date.now() - t0) / 1000),
        rssMiB: rssMiB(pid),
        heapUsedMiB: mib(heap.usedSize),
        heapTotalMiB: mib(heap.totalSize),
        externalMiB: mib(usage.result?.value?.external ?? Number.NaN),
        arrayBuffersMiB: mib(usage.result?.value?.arrayBuffers ?? Number.NaN),
        ...(tag ? { tag } : {}),
      };
    },
    async collectGarbage() {
      await call("HeapProfiler.enable");
      await call("HeapProfiler.collectGarbage");
    },
    close,
  };
}

if (import.meta.main) {
  const { pid, intervalMs, endAt } = samplerArgs("node bench/node-heap.ts <pid> [interval s, 30] [duration s, 1500]", { intervalS: 30, durationS: 1500 });
  const inspector = await inspectHeap(pid);
  while (Date.now() < endAt) {
    console.log(JSON.stringify(await inspector.sample()));
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  await inspector.collectGarbage();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  console.log(JSON.stringify(await inspector.sample("after forced full GC")));
  inspector.close();
}
