// How V8 collects the node's garbage. Why not its defaults: the media a node relays passes through buffers that live a
// second or two (a GOP's fragments until their segment is uploaded), and V8 counts the buffer memory allocated since
// its last full collection toward the old generation's limit. At 16 passthrough publishes that started incremental
// marking of the whole heap every 1-2 s with the heap far below its limit (20-25 mark-compacts in 20 s, marking on
// V8's helper threads, finished on the main thread), each freeing a few MB. Without incremental marking V8 collects
// the old generation when its limit is reached: 2-4 mark-compacts in 20 s, each one pause (25-50 ms with a heap of
// ~35 MB), 2-3 millicores per stream less (docs/BENCHMARKS.md, passthrough). Freed buffers go back to the system at
// once (glibc-malloc.ts), so holding dead ones longer costs little memory.
// Why no parallel GC work: V8 splits each scavenge, compaction and sweep across helper threads, which on a node's
// small, busy heap costs more in posting and joining tasks than it saves. Done on the main thread alone, 16 queue-mode
// publishes cost 5.3-6.4 millicores per stream against 5.6-8.0 (helper threads 0.8-1.0 against 1.1-1.4), in runs
// taking turns beside nginx-rtmp (docs/bench/passthrough.json), with mark-compact pauses of 19-34 ms against 21-41.
// --no-parallel-marking is left out: set at run time it crashes V8.
import { setFlagsFromString } from "node:v8";

/** The V8 flags the ingest node runs with. */
export const NODE_V8_FLAGS = [
  "--no-incremental-marking",
  "--no-parallel-scavenge",
  "--no-parallel-compaction",
  "--no-parallel-pointer-update",
  "--no-concurrent-sweeping",
] as const;

/** Applies NODE_V8_FLAGS to this process (call it first, at start-up; V8 reads these flags when it decides to collect). */
export function tuneGarbageCollection(): void {
  for (const flag of NODE_V8_FLAGS) setFlagsFromString(flag);
}
