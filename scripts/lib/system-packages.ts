// Finding system tools the tests need (ffmpeg, ffprobe, chromium, libsrt, srt-live-transmit, redis-server) and installing them with apt-get when allowed.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** A system tool, the Debian package that provides it, and how to get it elsewhere. */
export interface SystemTool {
  command: string;
  aptPackage: string;
  hint: string;
}

/** True when `command` is on PATH (or is an existing absolute path). */
export function hasCommand(command: string): boolean {
  if (command.startsWith("/")) return existsSync(command);
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/** Set to 1 to never install anything: the scripts then only say what is missing. */
export const NO_AUTO_INSTALL_ENV = "EDGECAST_NO_AUTO_INSTALL";

/** True when missing tools may be installed here: root on a system with apt-get, and not switched off. */
export function canUseApt(): boolean {
  if (process.env[NO_AUTO_INSTALL_ENV] === "1") return false;
  return process.platform === "linux" && process.getuid?.() === 0 && hasCommand("apt-get");
}

/** Installs Debian packages with apt-get (its output shown); true when both update and install succeeded. */
export function aptInstall(packages: string[]): boolean {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const update = spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  const install = spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], { stdio: "inherit", env });
  return update.status === 0 && install.status === 0;
}

/**
 * Makes sure every tool exists: missing ones are installed with apt-get when running as root on Debian/Ubuntu,
 * otherwise the process exits with a message that says exactly what to install.
 */
export function ensureSystemTools(tools: SystemTool[]): void {
  const missing = tools.filter((tool) => !hasCommand(tool.command));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((tool) => tool.aptPackage))];
  if (canUseApt()) {
    console.log(`• installing ${packages.join(", ")} with apt-get (missing: ${missing.map((t) => t.command).join(", ")})`);
    if (aptInstall(packages) && missing.every((tool) => hasCommand(tool.command))) return;
    console.error("✗ apt-get could not install everything; see its output above.");
  }
  console.error("✗ Missing tools the tests need:");
  for (const tool of missing) console.error(`  - ${tool.command}: ${tool.hint}`);
  process.exit(1);
}

/** The tools the end-to-end tests use. */
export const TEST_TOOLS: SystemTool[] = [
  { command: "ffmpeg", aptPackage: "ffmpeg", hint: "apt-get install ffmpeg | brew install ffmpeg | set FFMPEG_PATH" },
  { command: "ffprobe", aptPackage: "ffmpeg", hint: "apt-get install ffmpeg | brew install ffmpeg" },
  {
    command: process.env.CHROMIUM_PATH ?? "chromium",
    aptPackage: "chromium",
    hint: "apt-get install chromium (or set CHROMIUM_PATH to a Chromium/Chrome binary)",
  },
  // The ingest node's SRT listener loads libsrt; the SRT tests publish with srt-live-transmit too.
  {
    command: `/usr/lib/${process.arch === "arm64" ? "aarch64" : "x86_64"}-linux-gnu/libsrt.so.1.5`,
    aptPackage: "libsrt1.5-openssl",
    hint: "apt-get install libsrt1.5-openssl | brew install srt",
  },
  { command: "srt-live-transmit", aptPackage: "srt-tools", hint: "apt-get install srt-tools | brew install srt" },
  // The transcoding pool's tests run their own Redis (BullMQ's store).
  { command: "redis-server", aptPackage: "redis-server", hint: "apt-get install redis-server | brew install redis" },
];
