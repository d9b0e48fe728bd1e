// What machine and which versions a benchmark ran on: every figure in docs/BENCHMARKS.md states these.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, freemem, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";

/** The machine and tool versions of one run. */
export interface MachineInfo {
  nproc: number;
  memoryGiB: number;
  cpuModel: string;
  kernel: string;
  node: string;
  wrangler: string;
  ffmpeg: string;
  wrk: string;
  nginx: string;
  chromium: string;
  /** 1-minute load average when the run started (other work on the machine shows up here). */
  loadAtStart: number;
}

function firstLine(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 10_000 });
  const text = `${result.stdout ?? ""}\n${result.stderr ?? ""}`.trim();
  return (
    text
      .split("\n")
      .find((line) => line.trim() !== "")
      ?.trim() ?? "not found"
  );
}

function packageVersion(root: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

/** Collects the machine facts and versions (node is the one running this script). */
export function machineInfo(root: string): MachineInfo {
  const cpuList = cpus();
  let cpuModel = cpuList[0]?.model?.trim() ?? "unknown";
  try {
    // Some hypervisors give os.cpus() a bare family name; /proc/cpuinfo may say more.
    const line = readFileSync("/proc/cpuinfo", "utf8")
      .split("\n")
      .find((l) => l.startsWith("model name"));
    if (line) cpuModel = line.split(":").slice(1).join(":").trim() || cpuModel;
  } catch {
    // not Linux
  }
  const ffmpeg = firstLine(process.env.FFMPEG_PATH ?? "ffmpeg", ["-version"]).replace(/ Copyright.*$/, "");
  return {
    nproc: cpuList.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    cpuModel,
    kernel: release(),
    node: process.version,
    wrangler: packageVersion(root, "wrangler"),
    ffmpeg,
    wrk: firstLine("wrk", ["-v"]).replace(/ \[.*$/, ""),
    nginx: firstLine("nginx", ["-v"]).replace(/^nginx version: /, ""),
    chromium: firstLine(process.env.CHROMIUM_PATH ?? "chromium", ["--version"]),
    loadAtStart: Math.round(loadavg()[0]! * 100) / 100,
  };
}

/** One line naming the machine, for figure captions. */
export function machineLine(m: MachineInfo): string {
  return `${m.nproc} cores (${m.cpuModel}), ${m.memoryGiB} GiB RAM, Linux ${m.kernel}`;
}

/** One line naming the versions, for figure captions. */
export function versionsLine(m: MachineInfo): string {
  return `node ${m.node}, wrangler ${m.wrangler}, ${m.ffmpeg}`;
}

/** The current 1-minute load average and free memory, to record beside each section. */
export function loadNow(): { load1: number; freeGiB: number } {
  return { load1: Math.round(loadavg()[0]! * 100) / 100, freeGiB: Math.round((freemem() / 2 ** 30) * 10) / 10 };
}
