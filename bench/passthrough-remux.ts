// Passthrough cost per stream, side by side on this machine: N publishers copy one 720p file (H.264 2.5 Mbit/s, 2 s
// GOP, AAC) over RTMP into one LADDER=passthrough node with REMUX=native (the node remuxes in-process) and with
// REMUX=ffmpeg (one FFmpeg copy process per stream), and into nginx-rtmp (`hls on`, 2 s fragments) when its module is
// installed. CPU (the server, its live children and the children it reaped) and resident memory (the server and its
// live children) over a window after warm-up. The node talks to bench/fake-edge.ts, so workerd is not on the CPU.
// Run alone (it loads both cores): `node bench/passthrough-remux.ts [--streams=16] [--seconds=30]
// [--modes=inproc,native,native:3600,ffmpeg,nginx] [--rounds=1] [--out=FILE]` (`<remux>:<s>` sets THUMBNAIL_INTERVAL_S; the
// node's default is 10 s; with --rounds=R the modes take turns R times and each reports its median round).
// It writes its figures to docs/bench/passthrough.json, which bench/report.ts renders in docs/BENCHMARKS.md.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { CmafPackager } from "../ingest-node/src/packager/packager.ts";
import { FlvRemuxer } from "../ingest-node/src/remux/flv-remuxer.ts";
import { ffmpegLocations, findFfmpeg } from "../ingest-node/src/transcode/ffmpeg-binary.ts";
import { freePort } from "../scripts/lib/free-port.ts";
import { startIngestDev } from "../scripts/lib/ingest-dev.ts";
import { spawnGroup } from "../scripts/lib/processes.ts";
import { stoppableChild } from "../scripts/lib/test-publisher.ts";
import { type ProfilePart, splitProfileFile } from "./cpu-profile-split.ts";
import { startFakeEdge } from "./fake-edge.ts";
import { type Measured, medianRound, PASSTHROUGH_RESULTS, type PassthroughResults } from "./passthrough-results.ts";
import { machineInfo, machineLine } from "./machine.ts";
import { childrenOf, sampleProcess } from "./proc.ts";
import { sleep } from "./stats.ts";

const profileDir = option("profile", "");
/** Extra NODE_OPTIONS for the node (e.g. V8 flags to try), and extra environment as `K=V,K=V`. */
const nodeOptions = option("node-options", "");
const nodeEnvText = option("node-env", "");
const nodeEnv = Object.fromEntries(
  nodeEnvText
    .split(",")
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
);
/** --node-log=FILE: the node's output lines are written there (e.g. with --node-options=--trace-gc). */
const nodeLog = option("node-log", "");
/** What a run tried beyond the node's defaults, for its label. */
const tried = [nodeOptions, nodeEnvText].filter(Boolean).join(" ");
const NGINX_RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so";
const TICKS = 100;

function option(name: string, fallback: string): string {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? arg.slice(name.length + 3) : fallback;
}

/** CPU seconds of `pid` itself plus the children it reaped (cutime, cstime) plus its live children. */
function cpuWithChildren(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const own = (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS;
  return own + childrenOf(pid).reduce((sum, child) => sum + child.cpuS, 0);
}

/** CPU seconds of `pid`'s threads: the main thread (user, kernel) and the others (V8's workers, libuv, a profiler). */
function threadCpu(pid: number): { mainUser: number; mainKernel: number; other: number } {
  const out = { mainUser: 0, mainKernel: 0, other: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread ended
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const user = Number(fields[11]) / TICKS;
    const kernel = Number(fields[12]) / TICKS;
    if (Number(tid) === pid) {
      out.mainUser += user;
      out.mainKernel += kernel;
    } else out.other += user + kernel;
  }
  return out;
}

function rssWithChildren(pid: number): number {
  return (sampleProcess(pid)?.rssMiB ?? 0) + childrenOf(pid).reduce((sum, child) => sum + child.rssMiB, 0);
}

function publish(ffmpeg: string, file: string, url: string): { child: ChildProcess; stop(): Promise<void> } {
  const child = spawn(ffmpeg, ["-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", file, "-c", "copy", "-f", "flv", url], {
    stdio: "ignore",
  });
  return { child, ...stoppableChild(child) };
}

/** Runs N publishers into the server `pid` at `rtmpUrl` and measures it over the window. */
async function window(pid: number, rtmpUrl: string, ffmpeg: string, file: string, n: number, seconds: number, warmupS: number) {
  const idleRssMiB = rssWithChildren(pid);
  const publishers = Array.from({ length: n }, (_, i) => publish(ffmpeg, file, `${rtmpUrl}/bench-${i}`));
  try {
    await sleep(warmupS * 1000);
    const t0 = Date.now();
    const cpu0 = cpuWithChildren(pid);
    const threads0 = threadCpu(pid);
    const rss: number[] = [];
    while (Date.now() - t0 < seconds * 1000) {
      rss.push(rssWithChildren(pid));
      await sleep(1000);
    }
    const wallS = (Date.now() - t0) / 1000;
    const cores = (cpuWithChildren(pid) - cpu0) / wallS;
    const threads1 = threadCpu(pid);
    const own = (t: ReturnType<typeof threadCpu>) => t.mainUser + t.mainKernel + t.other;
    // Millicores per stream: the server's threads, and its FFmpeg children (live and reaped) as the rest of `cores`.
    const per = (seconds: number) => Math.round(((seconds / wallS) * 1000 * 100) / n) / 100;
    const threads = {
      mainUser: per(threads1.mainUser - threads0.mainUser),
      mainKernel: per(threads1.mainKernel - threads0.mainKernel),
      otherThreads: per(threads1.other - threads0.other),
      children: per(cores * wallS - (own(threads1) - own(threads0))),
    };
    return { idleRssMiB, cores, rssMiB: rss.reduce((a, b) => a + b, 0) / rss.length, t0, threads };
  } finally {
    await Promise.allSettled(publishers.map((p) => p.stop()));
  }
}

/** `native`, `ffmpeg`, or `<remux>:<THUMBNAIL_INTERVAL_S>` (e.g. `native:3600`: thumbnails all but off). */
async function measureNode(mode: string, ffmpeg: string, file: string, n: number, seconds: number, warmupS: number): Promise<Measured> {
  const [remux, thumbnailS = "10"] = mode.split(":") as [string, string?];
  const fake = await startFakeEdge();
  const dir = mkdtempSync(join(tmpdir(), "edgecast-bench-remux-"));
  const nodeStartedAt = Date.now();
  const node = await startIngestDev({
    edgeUrl: fake.url,
    nodeToken: "bench-node-credential",
    rtmpPort: await freePort(),
    httpPort: await freePort(),
    ladder: "passthrough",
    preset: "ultrafast",
    spoolDir: join(dir, "spool"),
    env: {
      LOG_LEVEL: "warn",
      REMUX: remux,
      THUMBNAIL_INTERVAL_S: thumbnailS,
      MAX_PUBLISHES: String(n),
      RTMP_MAX_CONNECTIONS_PER_IP: String(n + 4),
      ...nodeEnv,
      // --profile=DIR: the node writes a V8 CPU profile there when it exits (open it in Chrome's DevTools).
      NODE_OPTIONS: [nodeOptions, profileDir ? `--cpu-prof --cpu-prof-dir=${profileDir}` : ""].filter(Boolean).join(" "),
    },
  });
  let w: Awaited<ReturnType<typeof window>>;
  let end: number;
  let factors: number[];
  try {
    await sleep(1000);
    w = await window(node.process.child.pid!, node.rtmpUrl, ffmpeg, file, n, seconds, warmupS);
    end = Date.now();
    factors = [...fake.streams.values()].map(
      (s) => s.segments.filter((g) => g.at >= w.t0 && g.at <= end).reduce((sum, g) => sum + g.durationS, 0) / ((end - w.t0) / 1000),
    );
    if (factors.length < n) throw new Error(`only ${factors.length} of ${n} publishes reached the edge; node log: ${node.lines.slice(-5).join(" | ")}`);
  } finally {
    await node.stop();
    if (nodeLog) writeFileSync(nodeLog, `${node.lines.join("\n")}\n`);
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    mode: `node REMUX=${remux}${thumbnailS === "10" ? "" : ` thumbnails/${thumbnailS}s`}${tried ? ` (${tried})` : ""}`,
    streams: n,
    cores: w.cores,
    rssMiB: w.rssMiB,
    idleRssMiB: w.idleRssMiB,
    minRealtime: Math.min(...factors),
    threads: w.threads,
    ...(profileDir ? { split: profileSplit(nodeStartedAt, w.t0, end, n) } : {}),
  };
}

/** The node's profile (the newest main-thread one in --profile's directory) over the window, millicores per stream. */
function profileSplit(nodeStartedAt: number, from: number, to: number, n: number): Record<ProfilePart, number> {
  const newest = readdirSync(profileDir)
    .filter((f) => f.endsWith(".0.001.cpuprofile"))
    .map((f) => join(profileDir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!newest) throw new Error(`--profile: no CPU profile in ${profileDir}`);
  // The profile starts with the node process, a moment after nodeStartedAt: the window is that much earlier in it.
  const split = splitProfileFile(newest, (from - nodeStartedAt) / 1000, (to - nodeStartedAt) / 1000);
  const scale = 1000 / ((to - from) / 1000) / n;
  return Object.fromEntries(Object.entries(split).map(([part, s]) => [part, Math.round(s * scale * 100) / 100])) as Record<ProfilePart, number>;
}

async function measureNginx(ffmpeg: string, file: string, n: number, seconds: number, warmupS: number): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), "edgecast-bench-nginx-rtmp-"));
  mkdirSync(join(dir, "hls"));
  mkdirSync(join(dir, "logs"));
  const port = await freePort();
  writeFileSync(
    join(dir, "nginx.conf"),
    `load_module ${NGINX_RTMP_MODULE};\nuser root;\ndaemon off;\nworker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/logs/error.log warn;\n` +
      `events { worker_connections 1024; }\n` +
      `rtmp { server { listen 127.0.0.1:${port}; application live { live on; hls on; hls_path ${dir}/hls; hls_fragment 2s; hls_playlist_length 10s; } } }\n`,
  );
  const nginx = spawnGroup("nginx", "nginx", ["-p", dir, "-c", join(dir, "nginx.conf")]);
  try {
    await sleep(1000);
    const w = await window(nginx.child.pid!, `rtmp://127.0.0.1:${port}/live`, ffmpeg, file, n, seconds, warmupS);
    return { mode: "nginx-rtmp (hls on)", streams: n, cores: w.cores, rssMiB: w.rssMiB, idleRssMiB: w.idleRssMiB, minRealtime: null };
  } finally {
    await nginx.stop(5_000);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The remuxer and packager alone, in this process, as fast as they go: CPU seconds per media second of one stream. */
function measureInProcess(file: string, n: number): Measured {
  const input = readFileSync(file);
  const reps = 20;
  const start = process.cpuUsage();
  for (let r = 0; r < reps; r++) {
    const remuxer = new FlvRemuxer({ fragmentDuration: 0.5 });
    const packager = new CmafPackager({ segmentTarget: 2, parts: false });
    for (let i = 0; i < input.byteLength; i += 65_536) for (const bytes of remuxer.push(input.subarray(i, i + 65_536))) packager.push(bytes);
    for (const bytes of remuxer.end()) packager.push(bytes);
    packager.end();
  }
  const used = process.cpuUsage(start);
  const perStream = (used.user + used.system) / 1e6 / (reps * 20);
  return { mode: "remux+packager in-process", streams: n, cores: perStream * n, rssMiB: 0, idleRssMiB: 0, minRealtime: null };
}

async function main(): Promise<void> {
  const n = Number(option("streams", "16"));
  const seconds = Number(option("seconds", "30"));
  const warmupS = Number(option("warmup", "8"));
  const modes = option("modes", "inproc,native,native:3600,ffmpeg,nginx").split(",");
  const { ffmpeg } = await findFfmpeg(ffmpegLocations(process.env), { logger: { warn: (m: string) => console.warn(m) } });
  const file = join(tmpdir(), "edgecast-bench-720p-2500k.flv");
  if (!existsSync(file)) {
    const made = spawnSync(ffmpeg, [
      "-v",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=1280x720:rate=30",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=440:sample_rate=48000",
      "-t",
      "20",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-b:v",
      "2500k",
      "-maxrate",
      "2500k",
      "-bufsize",
      "5000k",
      "-g",
      "60",
      "-keyint_min",
      "60",
      "-sc_threshold",
      "0",
      "-c:a",
      "aac",
      "-b:a",
      "128k",
      "-f",
      "flv",
      file,
    ]);
    if (made.status !== 0) throw new Error(`could not make the source: ${made.stderr}`);
  }
  console.log(
    `${machineLine(machineInfo(process.cwd()))}; ${n} streams of 1280x720 30 fps H.264 2.5 Mbit/s + AAC 128 kbit/s, ${seconds} s window after ${warmupS} s`,
  );
  const loadBefore = Number(loadavg()[0]!.toFixed(2));
  if (modes.includes("nginx") && !existsSync(NGINX_RTMP_MODULE)) {
    console.log(`nginx-rtmp skipped: ${NGINX_RTMP_MODULE} missing (apt-get install libnginx-mod-rtmp)`);
    modes.splice(modes.indexOf("nginx"), 1);
  }
  // --rounds=R: the modes take turns R times (node, nginx-rtmp, node, ...), so a slow minute on the machine lands on
  // both, and each mode's figures are its median round's.
  const rounds = Number(option("rounds", "1"));
  const byMode = new Map<string, Measured[]>(modes.map((mode) => [mode, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const mode of modes) {
      const r =
        mode === "inproc"
          ? measureInProcess(file, n)
          : mode === "nginx"
            ? await measureNginx(ffmpeg, file, n, seconds, warmupS)
            : await measureNode(mode, ffmpeg, file, n, seconds, warmupS);
      byMode.get(mode)!.push(r);
      console.log(
        `${rounds > 1 ? `round ${round}: ` : ""}${r.mode.padEnd(34)} ${r.cores.toFixed(3)} cores (${((r.cores / n) * 1000).toFixed(1)} millicores/stream), ` +
          `RSS ${r.rssMiB.toFixed(0)} MiB (idle ${r.idleRssMiB.toFixed(0)} MiB, +${((r.rssMiB - r.idleRssMiB) / n).toFixed(1)} MiB/stream)` +
          (r.minRealtime !== null ? `, slowest stream ${r.minRealtime.toFixed(3)}x realtime` : ""),
      );
    }
  }
  const results = [...byMode.values()].map(medianRound);
  console.log(JSON.stringify(results));
  const saved: PassthroughResults = {
    measuredAt: new Date().toISOString(),
    machine: machineLine(machineInfo(process.cwd())),
    command: ["node bench/passthrough-remux.ts", ...process.argv.slice(2)].join(" "),
    streams: n,
    seconds,
    warmupS,
    ...(rounds > 1 ? { rounds } : {}),
    results,
    load: { before: loadBefore, after: Number(loadavg()[0]!.toFixed(2)) },
  };
  // --out=FILE: another bench's run (the pool's capacity) keeps its figures apart from this section's.
  const out = option("out", PASSTHROUGH_RESULTS);
  writeFileSync(out, `${JSON.stringify(saved, null, 1)}\n`);
  console.log(`saved to ${out}`);
}

await main();
