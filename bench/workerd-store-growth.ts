// Which of Miniflare's local simulations grows workerd's memory with the objects it holds? Runs a tiny Worker
// (bench/workerd/store-worker.ts) on workerd through Miniflare with state on disk, as `wrangler dev --persist-to` does,
// and `npm start`'s V8 flags; warms workerd up with plain requests (it grows in its first ~15,000 whatever they do:
// bench/workerd-growth.ts), then does one kind of operation N times, 8 at a time, printing workerd's anonymous
// resident memory (RssAnon) every `--every` operations and its growth per 1,000 operations by quarter.
//   node bench/workerd-store-growth.ts --mode=plain|r2-put|r2-get|cache|media|do|rpc|rpc-disposed|rpc-held|wait-until|
//     no-wait-until|d1|cleared-timer [--ops=20000] [--keys=1000] [--timer-ms=60000]
//     [--objects=1000] [--warm=15000] [--persist=disk|memory] [--distinct=N] [--idle=seconds] [--waves=N]
// r2-put: a distinct key per operation, 50-500 KB (our segments' sizes). r2-get: `--keys` such objects put first (not
// measured), then read round-robin. cache: caches.default put of a distinct key and a match of it. media: the soak's
// pattern, an R2 put and two reads the way the edge serves media (a cache miss read from R2 and kept, then a hit). do: an 8-16 KB
// value written to one of `--objects` Durable Objects (SQLite-backed) under a distinct key and read back. rpc: one
// object calls another over RPC (a stub per call, as a relay calls the stream's object) and leaves the call's result;
// rpc-disposed: the same, disposing it; rpc-held: the call answered 50 ms later. wait-until: an object hands a 200 ms
// promise to waitUntil per operation (no-wait-until: the same promise, not handed over). d1: a D1 lookup by primary key
// (the edge's node authentication). cleared-timer: an object sets a `--timer-ms` timer and clears it 1 ms later (workerd
// keeps a cleared timer's entry until the object is evicted). With gdb on the PATH, workerd's allocator "in use" is read after the warm-up, the
// operations and the idle wait.
// `--waves=N` (do): N rounds of the operations, each on `--objects` objects no earlier round used, `--idle` seconds
// apart: workerd evicts an object idle for 10 s (its server.c++), so memory that follows the objects alive at once
// comes back for the next round to reuse, while memory kept per object ever created goes on growing round by round.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { Log, LogLevel, Miniflare } from "miniflare";
import { EDGE_V8_FLAGS } from "../scripts/lib/edge-dev.ts";
import { type GrowthSample, growthRate } from "./growth-rate.ts";
import { childrenOf } from "./proc.ts";
import { haveGdb, tcmallocStats } from "./tcmalloc-stats.ts";

function option(name: string, fallback: string): string {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? arg.slice(name.length + 3) : fallback;
}

const MODES = [
  "plain",
  "r2-put",
  "r2-get",
  "cache",
  "media",
  "do",
  "rpc",
  "rpc-disposed",
  "rpc-held",
  "wait-until",
  "no-wait-until",
  "d1",
  "cleared-timer",
] as const;
type Mode = (typeof MODES)[number];
const mode = option("mode", "r2-put") as Mode;
if (!MODES.includes(mode)) throw new Error(`--mode: one of ${MODES.join(", ")}`);
const ops = Number(option("ops", "20000"));
const keys = Number(option("keys", "1000"));
const objects = Number(option("objects", "1000"));
const warm = Number(option("warm", "15000"));
const every = Number(option("every", "1000"));
const persist = option("persist", "disk");
// Keys (r2-put, cache, do) cycle over this many distinct ones: fewer than --ops rewrites the same keys, so memory
// that follows the objects held stops growing while memory that follows operations does not.
const distinct = Number(option("distinct", String(ops)));
// Seconds to stay idle after the operations, sampling every 5 s: memory the allocator only caches may go back.
const idle = Number(option("idle", "0"));
const LANES = Number(option("lanes", "8"));
const waves = Number(option("waves", "1"));
const timerMs = Number(option("timer-ms", "60000"));
if (waves > 1 && mode !== "do") throw new Error("--waves is for --mode=do");

/** workerd's RssAnon and RssFile in MiB. */
function memory(pid: number): { anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { anon: kib("RssAnon") / 1024, file: kib("RssFile") / 1024 };
}

// One random buffer; each object is a slice of it, 50-500 KB, a size fixed by its index.
const pool = randomBytes(500 * 1024);
// `--kb=N` makes every object N KB instead.
const fixedKb = Number(option("kb", "0"));
const segment = (i: number) => pool.subarray(0, (fixedKb || 50 + ((i * 7919) % 451)) * 1024);
const small = (i: number) => pool.subarray(0, (8 + ((i * 31) % 9)) * 1024);

const dir = mkdtempSync(join(tmpdir(), "edgecast-store-growth-"));
await build({
  entryPoints: [join(import.meta.dirname, "workerd/store-worker.ts")],
  bundle: true,
  format: "esm",
  platform: "neutral",
  external: ["cloudflare:*"],
  outfile: join(dir, "worker.js"),
  logLevel: "warning",
});
// Miniflare hands MINIFLARE_WORKERD_V8_FLAGS to the workerd it spawns, as under `npm start`.
// `--v8="<flags>"` adds V8 flags to those.
process.env.MINIFLARE_WORKERD_V8_FLAGS = [...EDGE_V8_FLAGS, option("v8", "")].join(" ").trim();
const mf = new Miniflare({
  modulesRoot: dir,
  modules: [{ type: "ESModule", path: join(dir, "worker.js") }],
  compatibilityDate: "2026-07-01",
  r2Buckets: ["BUCKET"],
  d1Databases: ["DB"],
  durableObjects: { OBJECT: { className: "StoreObject", useSQLite: true } },
  ...(persist === "disk" ? { defaultPersistRoot: join(dir, "state") } : {}),
  // No network here: a placeholder request.cf instead of fetching Cloudflare's.
  cf: false,
  host: "127.0.0.1",
  port: 0,
  log: new Log(LogLevel.WARN),
});
try {
  const origin = (await mf.ready).origin;
  const workerd = childrenOf(process.pid, "workerd")[0]?.pid;
  if (workerd === undefined) throw new Error("no workerd child found");

  /** Runs `count` operations, LANES at a time; `op(i)` does the i-th. */
  const run = async (count: number, op: (i: number) => Promise<void>, onDone?: (done: number) => void) => {
    let next = 0;
    let done = 0;
    const lane = async () => {
      while (next < count) {
        const i = next++;
        await op(i);
        done++;
        onDone?.(done);
      }
    };
    await Promise.all(Array.from({ length: LANES }, lane));
  };
  const request = async (path: string, init?: RequestInit, expect = 200) => {
    const response = await fetch(`${origin}${path}`, init);
    await response.arrayBuffer();
    if (response.status !== expect) throw new Error(`${init?.method ?? "GET"} ${path}: ${response.status}`);
  };
  const put = (path: string, body: Uint8Array) => request(path, { method: "PUT", body }, 204);

  const started = Date.now();
  const at = () => `t=${Math.round((Date.now() - started) / 1000)}s`;
  /** Samples workerd every 5 s for `--idle` seconds with nothing running. */
  const stayIdle = async () => {
    for (let s = 5; s <= idle; s += 5) {
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const m = memory(workerd);
      console.log(`idle ${at()} RssAnon ${m.anon.toFixed(1)} RssFile ${m.file.toFixed(1)} MiB`);
    }
  };
  const m0 = memory(workerd);
  console.log(`${mode} persist=${persist} start ${at()} RssAnon ${m0.anon.toFixed(1)} RssFile ${m0.file.toFixed(1)} MiB`);
  await run(warm, () => request("/plain"));
  if (mode === "r2-get") await run(keys, (i) => put(`/r2/seg/${i}.m4s`, segment(i)));
  const m1 = memory(workerd);
  console.log(`warm ${at()} RssAnon ${m1.anon.toFixed(1)} RssFile ${m1.file.toFixed(1)} MiB`);
  // RSS keeps memory the allocator holds once freed; tcmalloc's own "in use" (gdb, bench/tcmalloc-stats.ts) tells
  // memory workerd holds from memory it gave back, so what an evicted object lets go shows after the idle wait.
  const inUse = async (when: string) => {
    if (!haveGdb()) return;
    const stats = await tcmallocStats(workerd);
    console.log(`allocator ${when} ${at()}: ${stats instanceof Error ? stats.message : `in use ${stats.inUseMiB} MiB`}`);
  };
  await inUse("warm");

  const samples: GrowthSample[] = [{ requests: 0, mib: m1.anon }];
  let wave = 0;
  const op: Record<Mode, (i: number) => Promise<void>> = {
    plain: () => request("/plain"),
    "r2-put": (i) => put(`/r2/seg/${i % distinct}.m4s`, segment(i)),
    "r2-get": (i) => request(`/r2/seg/${i % keys}.m4s`),
    cache: async (i) => {
      await put(`/cache/seg/${i % distinct}.m4s`, segment(i));
      await request(`/cache/seg/${i % distinct}.m4s`);
    },
    media: async (i) => {
      await put(`/r2/seg/${i % distinct}.m4s`, segment(i));
      await request(`/media/seg/${i % distinct}.m4s`);
      await request(`/media/seg/${i % distinct}.m4s`);
    },
    // One long-lived object calling another over RPC per operation, as a relay calls the stream's object.
    rpc: (i) => request(`/rpc/caller/callee/0/${i}`),
    "rpc-disposed": (i) => request(`/rpc/caller/callee/1/${i}`),
    "rpc-held": (i) => request(`/rpc/caller/callee/0/${i}/50`),
    // An object setting a `--timer-ms` timer and clearing it 1 ms later, per operation.
    "cleared-timer": () => request(`/cleared-timer/caller/${timerMs}`),
    // A D1 lookup by primary key per operation (the edge's node authentication).
    d1: (i) => request(`/d1/node-${i % 8}`),
    // An object handing a 200 ms promise to waitUntil per operation, and the same work without waitUntil.
    "wait-until": () => request("/wait-until/caller/200/1"),
    "no-wait-until": () => request("/wait-until/caller/200/0"),
    do: async (i) => {
      const path = `/do/object-${wave * objects + (i % objects)}/value-${i % distinct}`;
      await put(path, small(i));
      await request(path);
    },
  };
  await run(ops, op[mode], (done) => {
    if (done % every !== 0) return;
    const m = memory(workerd);
    samples.push({ requests: done, mib: m.anon });
    console.log(`${mode} ops=${done} ${at()} RssAnon ${m.anon.toFixed(1)} RssFile ${m.file.toFixed(1)} MiB`);
  });
  // Growth after the first tenth, which still includes the operation's own warm-up (first R2 or DO use).
  const rate = growthRate(samples, ops / 10);
  const f = (v: number | null) => (v === null ? "-" : v.toFixed(2));
  console.log(
    `${mode}: RssAnon ${f(rate.from)} -> ${f(rate.to)} MiB after the first tenth; ${f(rate.overall)} MiB per 1,000 ops ` +
      `(quarters ${rate.quarters.map(f).join(", ")})`,
  );
  await inUse("after the operations");
  await stayIdle();
  if (idle > 0) await inUse("after the idle wait");
  const constructed = async () => Number(await (await fetch(`${origin}/do-constructed`)).text());
  for (wave = 1; wave < waves; wave++) {
    const before = await constructed();
    await run(ops, op[mode]);
    const m = memory(workerd);
    console.log(
      `wave ${wave + 1}: ${ops} ops on ${objects} new objects ${at()} RssAnon ${m.anon.toFixed(1)} MiB (${(await constructed()) - before} objects constructed)`,
    );
    await stayIdle();
  }
  if (waves > 1) {
    // The first round's first object, used again: constructed anew if workerd evicted it while idle.
    const before = await constructed();
    await request("/do/object-0/value-0");
    console.log(`object-0 used again after the rounds: ${(await constructed()) - before === 1 ? "constructed anew (it had been evicted)" : "still in memory"}`);
  }
  if (process.argv.includes("--smaps")) {
    // Where the anonymous memory is: workerd's largest anonymous mappings, and its threads.
    const smaps = readFileSync(`/proc/${workerd}/smaps`, "utf8").split("\n");
    const regions: { range: string; kib: number }[] = [];
    let range = "";
    for (const line of smaps) {
      if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) range = line;
      const anon = /^Anonymous:\s+(\d+)/.exec(line);
      if (anon) regions.push({ range, kib: Number(anon[1]) });
    }
    regions.sort((a, b) => b.kib - a.kib);
    for (const r of regions.slice(0, 12)) console.log(`${(r.kib / 1024).toFixed(1)} MiB ${r.range}`);
    console.log(
      `threads: ${readdirSync(`/proc/${workerd}/task`)
        .map((t) => readFileSync(`/proc/${workerd}/task/${t}/comm`, "utf8").trim())
        .join(", ")}`,
    );
  }
} finally {
  await mf.dispose();
  rmSync(dir, { recursive: true, force: true });
}
