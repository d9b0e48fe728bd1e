// `npm run bench`: runs the benchmark sections (latency, edge throughput, fan-out, viewer scale, player latency, cost,
// ingest, memory soak), saves their figures to docs/bench/results.json and writes docs/BENCHMARKS.md with PNG plots (and,
// after a full run, the README's "Measured" section). Options: --quick (~5 min smoke run), --only=a,b, --no-readme,
// --soak-minutes=N, --play-seconds=N.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureSystemTools, type SystemTool, TEST_TOOLS } from "../scripts/lib/system-packages.ts";
import { runCost } from "./cost.ts";
import { type BenchSystem, startBenchSystem } from "./edge-system.ts";
import { runThroughput } from "./edge-throughput.ts";
import { startDirectEdge } from "./edge-direct.ts";
import { runFanout } from "./fanout.ts";
import { runPlayers } from "./players.ts";
import { runViewers } from "./viewers.ts";
import { runIngest } from "./ingest.ts";
import { POOL_CAPACITY_DEFAULTS, POOL_SECONDS, runPool } from "./pool.ts";
import { runSoak, type SoakResult } from "./soak.ts";
import { devSoakSystem, directSoakSystem } from "./soak-systems.ts";
import { MODES, runLatency } from "./latency.ts";
import { loadNow, machineInfo } from "./machine.ts";
import { type BenchOptions, parseOptions, type Section, SECTIONS, USAGE } from "./options.ts";
import { renderPngs } from "./render-png.ts";
import { buildReport, updateReadme } from "./report.ts";
import { keepHandWrittenSections } from "./report-kept-sections.ts";
import { type BenchResults, loadResults, saveResults, type SectionRun } from "./results.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const docsDir = join(root, "docs");
const resultsPath = join(docsDir, "bench", "results.json");

/** Load generators and the static-file baseline, on top of what the e2e tests need (ffmpeg, ffprobe, chromium). */
const BENCH_TOOLS: SystemTool[] = [
  ...TEST_TOOLS,
  { command: "wrk", aptPackage: "wrk", hint: "apt-get install wrk | brew install wrk" },
  { command: "nginx", aptPackage: "nginx-light", hint: "apt-get install nginx-light | brew install nginx" },
  // The soak reads workerd's allocator statistics through it (bench/tcmalloc-stats.ts).
  { command: "gdb", aptPackage: "gdb", hint: "apt-get install gdb" },
];

/** How long each section runs, full and --quick. */
function parameters(quick: boolean, soakMinutes: number | null, playSeconds: number | null) {
  return {
    soak: { minutes: soakMinutes ?? (quick ? 1 : 5), sampleIntervalMs: 5000, reloadMs: 500, baselineRequests: quick ? 2000 : 10_000 },
    latency: { durationS: quick ? 20 : 60, pollIntervalMs: 100 },
    throughput: { durationS: quick ? 3 : 5, rounds: quick ? 1 : 2, connections: 10 },
    fanout: { concurrencies: quick ? [1000, 5000] : [1000, 1000, 1000, 5000], warmupRounds: 1 },
    viewers: {
      // 10,000 viewers at a real player's cadence would send ~13,000 requests/s, more than one workerd and this load
      // generator can take on 2 cores: that crowd is sampled (each viewer plays one second in ten; see viewers.ts).
      steps: [
        { viewers: 100, sampling: 1 },
        { viewers: 1000, sampling: 1 },
        { viewers: 10_000, sampling: 10 },
      ],
      // 12 locations in 3 tier regions (then the same without the tier): enough locations per region to show what the
      // regional tier takes off the stream's object.
      locations: 12,
      regions: 3,
      seconds: quick ? 8 : 20,
      budgetSeconds: quick ? 2 : 4,
      partS: 0.5,
      plainReloadS: 1,
    },
    players: { playS: playSeconds ?? (quick ? 15 : 60), ladders: ["test", "default"] as ("test" | "default")[] },
    cost: { browserWindowS: quick ? 0 : 30 },
    pool: {
      modes: ["low", "standard"] as ("low" | "standard")[],
      seconds: quick ? { low: 20, standard: 20 } : POOL_SECONDS,
      workers: 2,
      ladder: "default",
      capacity: quick ? { ...POOL_CAPACITY_DEFAULTS, streams: [1, 2], windowS: 10 } : POOL_CAPACITY_DEFAULTS,
    },
    ingest: quick
      ? { speedMediaS: 8, ladderSteps: [1, 2], passthroughSteps: [1, 4, 16], warmupS: 4, measureS: 8 }
      : { speedMediaS: 20, ladderSteps: [1, 2, 3, 4], passthroughSteps: [1, 4, 8, 16, 32], warmupS: 6, measureS: 16 },
  };
}

const started = Date.now();
function log(line: string): void {
  const s = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  console.log(`[bench ${s}s] ${line}`);
}

async function main(options: BenchOptions): Promise<number> {
  ensureSystemTools(BENCH_TOOLS);
  mkdirSync(join(docsDir, "bench"), { recursive: true });
  const machine = machineInfo(root);
  log(
    `${machine.nproc} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, load ${machine.loadAtStart}; node ${machine.node}, wrangler ${machine.wrangler}, ${machine.ffmpeg}`,
  );
  log(`sections: ${options.only.length > 0 ? options.only.join(", ") : "none (report only)"}${options.quick ? " (quick)" : ""}`);
  const results: BenchResults = loadResults(resultsPath);
  const p = parameters(options.quick, options.soakMinutes, options.playSeconds);
  let bench: BenchSystem | null = null;
  const edge = async () => {
    if (!bench) {
      log("starting wrangler dev + ingest node");
      bench = await startBenchSystem();
    }
    return bench;
  };
  let failures = 0;

  async function section<T>(name: Section, run: () => Promise<T>): Promise<void> {
    if (!options.only.includes(name)) return;
    log(`== ${name}`);
    const startedAt = new Date();
    const before = loadNow().load1;
    let result: T | null = null;
    let error: string | null = null;
    try {
      result = await run();
    } catch (err) {
      error = (err as Error).message;
      failures += 1;
      log(`${name} failed: ${(err as Error).stack ?? error}`);
    }
    const record: SectionRun<T> = {
      result,
      error,
      startedAt: startedAt.toISOString(),
      durationS: Math.round((Date.now() - startedAt.getTime()) / 1000),
      quick: options.quick,
      command: options.command,
      machine,
      load: { before, after: loadNow().load1 },
    };
    // Sections another run saved meanwhile (a long soak overlaps other benchmarks) are kept: re-read before saving.
    Object.assign(results.sections, loadResults(resultsPath).sections);
    (results.sections as Record<string, SectionRun<unknown>>)[name] = record as SectionRun<unknown>;
    results.updatedAt = new Date().toISOString();
    saveResults(resultsPath, results);
    log(`${name} done in ${record.durationS} s`);
  }

  // First, on a quiet machine: the fan-out runs its own edge (the bundled Worker without wrangler dev) and measures a
  // burst that other sections' leftover processes (wrangler dev shutting down, FFmpeg) would disturb.
  await section("fanout", async () => {
    log("starting the bundled Worker on workerd (Miniflare, no dev proxy)");
    const direct = await startDirectEdge({ BENCH_ROUTES: "1", RECONNECT_WINDOW_SECONDS: "3600" });
    try {
      return await runFanout(direct, { ...p.fanout, log });
    } finally {
      await direct.stop();
    }
  });
  // Also on its own bundled Worker, right after: the viewer-scale simulation (its load generator and workerd take both cores).
  await section("viewers", () => runViewers({ ...p.viewers, log }));
  // Real players on their own wrangler dev + ingest node per ladder, before anything else starts FFmpeg.
  await section("players", () => runPlayers({ ...p.players, log }));
  try {
    await section("latency", async () => runLatency(await edge(), { ...p.latency, modes: MODES, log }));
    await section("throughput", async () => runThroughput(await edge(), { ...p.throughput, log }));
    await section("cost", async () => runCost(p.cost.browserWindowS > 0 ? await edge() : null, { ...p.cost, log }));
  } finally {
    if (bench) {
      log("stopping wrangler dev + ingest node");
      await (bench as BenchSystem).system.stop();
    }
  }

  await section("ingest", () => runIngest({ ...p.ingest, log }));
  // The transcoding pool: per mode its own edge, redis-server, queue-mode node and idle workers.
  await section("pool", () => runPool({ ...p.pool, log }));

  // Last, each on a fresh edge: memory over time (its processes start from nothing, so growth is the soak's).
  await section("soak", async () => {
    const runs: SoakResult[] = [];
    for (const kind of options.soakEdges) {
      log(`starting ${kind === "dev" ? "wrangler dev" : "the bundled Worker on a direct socket"} + ingest node for the soak`);
      const system = kind === "dev" ? await devSoakSystem() : await directSoakSystem();
      try {
        runs.push(await runSoak(system, { ...p.soak, warmupS: Math.min(120, Math.max(30, p.soak.minutes * 12)), log }));
      } finally {
        await system.stop();
      }
    }
    // A soak of only some edges keeps the others' last soak (each run says when it was measured).
    const kept = (results.sections.soak?.result?.runs ?? []).filter((old) => !runs.some((r) => r.edgeKind === old.edgeKind));
    return { runs: [...runs, ...kept].sort((a, b) => Number(b.edgeKind === "wrangler dev") - Number(a.edgeKind === "wrangler dev")) };
  });

  log("writing docs/BENCHMARKS.md");
  const report = buildReport({ results, docsDir });
  await renderPngs(report.figures);
  // Sections measured by hand (a numbered section the report does not generate) stay as they were.
  const reportPath = join(docsDir, "BENCHMARKS.md");
  writeFileSync(reportPath, keepHandWrittenSections(report.markdown, existsSync(reportPath) ? readFileSync(reportPath, "utf8") : null));
  // The README shows full-run figures only: every section present, none quick, none failed (it may be an --only rerun).
  const complete = SECTIONS.every((name) => {
    const run = (results.sections as Record<string, SectionRun<unknown> | undefined>)[name];
    return run !== undefined && run.result !== null && !run.quick;
  });
  if (options.readme && complete) {
    log(updateReadme(join(root, "README.md"), report.readmeSummary) ? "README.md: Measured section updated" : "README.md has no Measured section");
  } else if (options.readme) {
    log("README.md left as is (rewritten only when every section has full-run figures without failures)");
  }
  log(
    `done: docs/BENCHMARKS.md, ${report.figures.length} figures in docs/bench/, results in docs/bench/results.json${failures ? `; ${failures} section(s) failed` : ""}`,
  );
  return failures === 0 ? 0 : 1;
}

let options: BenchOptions;
try {
  options = parseOptions(process.argv.slice(2));
} catch (err) {
  if ((err as Error).message !== "usage") console.error((err as Error).message);
  console.error(USAGE);
  process.exit(2);
}
// Child processes run in their own process groups; exiting runs their kill hooks (scripts/lib/processes.ts).
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping`);
    process.exit(130);
  });
}
// A backstop: the whole run is bounded even if something hangs.
const limitMin =
  (options.quick ? 10 : 30) +
  (options.only.includes("players") ? 15 : 0) +
  (options.only.includes("viewers") ? 5 : 0) +
  (options.only.includes("pool") ? 5 : 0) +
  (options.only.includes("soak") ? (options.soakMinutes ?? 5) * options.soakEdges.length : 0);
setTimeout(() => {
  console.error(`the benchmark did not finish within ${limitMin} minutes; stopping`);
  process.exit(1);
}, limitMin * 60_000).unref();
process.exitCode = await main(options);
process.exit();
