// A heap profile of workerd's C++ memory: which code holds what tcmalloc counts as in use. tcmalloc keeps a sample of
// live allocations (one every `interval` bytes allocated, about 2 MiB by default), each with its requested size and
// call stack, in a list workerd never serves. This attaches gdb for a moment, walks that list in the stopped process
// with gdb's Python, and later symbolizes the stacks against the workerd binary's own symbol table (`nm`, no debug info
// needed). Two walks minutes apart, diffed, name the stacks that grew: that is how the timer map of 2531923 was found.
//   node bench/tcmalloc-heap.ts interval <workerd pid> <bytes>     sample every <bytes> (16384 to see small objects;
//                                                                  it inflates in use, so not during a measured soak)
//   node bench/tcmalloc-heap.ts walk <workerd pid> <out.json>     the live samples now
//   node bench/tcmalloc-heap.ts diff <before.json> <after.json> [--size=161-176] [--top=8]
// Needs gdb and ptrace permission over workerd (root, or the same user with kernel.yama.ptrace_scope 0).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gdbFailure, runGdb } from "./tcmalloc-stats.ts";

/** One live sampled allocation: the size asked for and its return addresses, innermost first. */
export interface HeapSample {
  bytes: number;
  stack: number[];
}

/** A walk: where workerd's binary was mapped (to turn addresses into symbols) and its samples. */
export interface HeapWalk {
  binary: string;
  loadBase: number;
  samples: HeapSample[];
}

/** Where a sample's fields sit from its list node, as read from one workerd build's disassembly and memory. */
interface SampleLayout {
  /** Non-zero once the sample was freed (before it is unlinked). */
  dead: number;
  /** The size the code asked for. */
  requested: number;
  /** How many return addresses follow (an int). */
  depth: number;
  /** The return addresses, innermost first. */
  stack: number;
}

// In every build the recorder's list head is at +0 and a node's `next` at +8. Builds differ in the rest: the
// workerd that Miniflare runs here (2026-07-30) keeps a `dead` flag at +0x10 and its StackTrace from +0x18; wrangler's
// own (2026-11-17) links samples both ways (+0x10 is `prev`), so a freed one is unlinked at once.
const LAYOUTS: Record<string, SampleLayout> = {
  "2026-07-30": { dead: 0x10, requested: 0x28, depth: 0x68, stack: 0x70 },
  "2026-11-17": { dead: 0x0, requested: 0x20, depth: 0x68, stack: 0x70 },
};

const WALK_PY = `
import gdb, json, os, struct
inf = gdb.selected_inferior()
head = int(gdb.parse_and_eval("(long)&_ZN8tcmalloc17tcmalloc_internal6Static28sampled_allocation_recorder_E"))
dead, requested, depth_at, stack_at = (int(x) for x in os.environ["HEAP_WALK_LAYOUT"].split(","))
def q(addr): return struct.unpack("<Q", inf.read_memory(addr, 8).tobytes())[0]
node, n = q(head), 0
with open(os.environ["HEAP_WALK_OUT"], "w") as f:
    while node and n < 5000000:
        if q(node + dead) == 0:
            depth = max(0, min(struct.unpack("<i", inf.read_memory(node + depth_at, 4).tobytes())[0], 64))
            stack = list(struct.unpack("<%dQ" % depth, inf.read_memory(node + stack_at, 8 * depth).tobytes())) if depth else []
            f.write(json.dumps([q(node + requested), stack]) + "\\n")
        node = q(node + 8)
        n += 1
`;

/** The sample layout of the workerd build at `binary` (by its version), or an Error naming the builds known. */
function layoutOf(binary: string): SampleLayout {
  const version = execFileSync(binary, ["--version"], { encoding: "utf8" }).trim().split(/\s+/).at(-1) ?? "";
  const layout = LAYOUTS[version];
  if (!layout)
    throw new Error(`workerd ${version}: its sample layout is not known here (known: ${Object.keys(LAYOUTS).join(", ")}); read it from the binary first`);
  return layout;
}

/** Runs `commands` in gdb attached to `pid`, then detaches; rejects with gdb's reason when it could not. */
async function gdb(pid: number, commands: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const run = await runGdb(pid, [...commands.flatMap((command) => ["-ex", command]), "-ex", "detach"], { timeoutMs: 300_000, env });
  if (run.failed && !run.stdout) throw new Error(`gdb: ${gdbFailure(run.stderr) ?? "failed"}`);
  return run.stdout;
}

/** Sets tcmalloc's sampling interval in process `pid` (bytes between samples); returns what it reads back. */
export async function setSamplingInterval(pid: number, bytes: number): Promise<number> {
  const out = await gdb(pid, [
    `call (void)MallocExtension_Internal_SetProfileSamplingInterval((long)${bytes})`,
    "print (long)MallocExtension_Internal_GetProfileSamplingInterval()",
  ]);
  return Number(/\$\d+ = (\d+)/.exec(out)?.[1] ?? Number.NaN);
}

/** The mapping of `pid`'s executable at file offset 0: with a first segment at address 0, the load base. */
function loadBase(pid: number): { binary: string; base: number } {
  for (const line of readFileSync(`/proc/${pid}/maps`, "utf8").split("\n")) {
    const [range, , offset, , , path] = line.split(/\s+/);
    if (path?.endsWith("/workerd") && offset === "00000000") return { binary: path, base: Number.parseInt(range!.split("-")[0]!, 16) };
  }
  throw new Error(`no workerd mapping in /proc/${pid}/maps`);
}

/** Walks process `pid`'s live sampled allocations (it is stopped meanwhile: a second or two at the default interval). */
export async function walkHeap(pid: number): Promise<HeapWalk> {
  const { binary, base } = loadBase(pid);
  const dir = mkdtempSync(join(tmpdir(), "tcmalloc-heap-"));
  try {
    const script = join(dir, "walk.py");
    const out = join(dir, "walk.jsonl");
    writeFileSync(script, WALK_PY);
    const layout = layoutOf(binary);
    await gdb(pid, [`source ${script}`], { HEAP_WALK_OUT: out, HEAP_WALK_LAYOUT: [layout.dead, layout.requested, layout.depth, layout.stack].join(",") });
    const samples = readFileSync(out, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [bytes, stack] = JSON.parse(line) as [number, number[]];
        return { bytes, stack };
      });
    return { binary, loadBase: base, samples };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Sorted function addresses of `binary` and their demangled names (`nm -C`, from its symbol table). */
export function symbolTable(binary: string): { addresses: number[]; names: string[] } {
  const rows = execFileSync("nm", ["-C", "--defined-only", binary], { maxBuffer: 1 << 30, encoding: "utf8" })
    .split("\n")
    .map((line) => /^([0-9a-f]+) [tTwW] (.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [Number.parseInt(m[1]!, 16), m[2]!] as const)
    .sort((a, b) => a[0] - b[0]);
  return { addresses: rows.map((r) => r[0]), names: rows.map((r) => r[1]) };
}

/** The function holding `address` (a binary search of the sorted table), or the address in hex below its first. */
export function symbolOf(table: { addresses: number[]; names: string[] }, address: number): string {
  let lo = 0;
  let hi = table.addresses.length - 1;
  if (hi < 0 || address < table.addresses[0]!) return `0x${address.toString(16)}`;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (table.addresses[mid]! <= address) lo = mid;
    else hi = mid - 1;
  }
  return table.names[lo]!;
}

// Frames of the allocator and of kj/std/absl plumbing, dropped so a stack is keyed by the code that asked.
// tcmalloc's own frames are matched anywhere: their demangled names start with a return type.
const PLUMBING = /^(operator new|malloc|calloc|realloc|posix_memalign|__libc|kj::_::|kj::heap|std::__1::__allocat|absl::)|tcmalloc::tcmalloc_internal::/;

/** Samples of `walk` in [min, max] bytes, counted per stack of its `depth` innermost frames past the plumbing. */
export function stacksOf(walk: HeapWalk, table: { addresses: number[]; names: string[] }, min: number, max: number, depth = 8): Map<string, number> {
  const counts = new Map<string, number>();
  for (const sample of walk.samples) {
    if (sample.bytes < min || sample.bytes > max) continue;
    const frames = sample.stack
      .map((address) => symbolOf(table, address - walk.loadBase).slice(0, 160))
      .filter((name) => !PLUMBING.test(name))
      .slice(0, depth);
    const key = frames.join("\n");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** The stacks that gained the most samples from `before` to `after`, most first. */
export function grownStacks(before: Map<string, number>, after: Map<string, number>, top: number): { stack: string; before: number; after: number }[] {
  return [...after]
    .map(([stack, n]) => ({ stack, before: before.get(stack) ?? 0, after: n }))
    .sort((a, b) => b.after - b.before - (a.after - a.before))
    .slice(0, top);
}

async function main(argv: string[]): Promise<void> {
  const [command, a, b, ...flags] = argv;
  if (command === "interval" && a && b) {
    console.log(`sampling interval now ${await setSamplingInterval(Number(a), Number(b))} bytes`);
  } else if (command === "walk" && a && b) {
    const walk = await walkHeap(Number(a));
    writeFileSync(b, JSON.stringify(walk));
    console.log(`${walk.samples.length} live samples written to ${b}`);
  } else if (command === "diff" && a && b) {
    const flag = (name: string) => flags.find((f) => f.startsWith(`--${name}=`))?.split("=")[1];
    const [min, max] = (flag("size") ?? "0-1099511627776").split("-").map(Number) as [number, number];
    const before = JSON.parse(readFileSync(a, "utf8")) as HeapWalk;
    const after = JSON.parse(readFileSync(b, "utf8")) as HeapWalk;
    const table = symbolTable(after.binary);
    const grown = grownStacks(stacksOf(before, table, min, max), stacksOf(after, table, min, max), Number(flag("top") ?? 8));
    console.log(`samples ${before.samples.length} -> ${after.samples.length}; sizes ${min}-${max} bytes`);
    for (const row of grown)
      console.log(
        `\n${row.after - row.before >= 0 ? "+" : ""}${row.after - row.before} (${row.before} -> ${row.after}):\n    ${row.stack.split("\n").join("\n    ")}`,
      );
  } else {
    console.error(
      "usage: node bench/tcmalloc-heap.ts interval <pid> <bytes> | walk <pid> <out.json> | diff <before.json> <after.json> [--size=MIN-MAX] [--top=N]",
    );
    process.exitCode = 2;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
