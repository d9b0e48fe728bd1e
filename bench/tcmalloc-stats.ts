// What workerd's allocator holds: workerd links Google's tcmalloc, whose statistics page says how much of the process's
// heap its code has in use and how much sits freed in the allocator's lists. workerd serves no such page, so this
// attaches gdb for a moment (about a second, the process stopped meanwhile), calls tcmalloc's own
// `MallocExtension_Internal_GetStats` in the process and reads the text back through a file.
//   node bench/tcmalloc-stats.ts <workerd pid> [--release] [--full]
// `--release` then turns subrelease on and calls `MallocExtension_Internal_ReleaseMemoryToSystem` (what a tcmalloc background thread would do,
// which workerd does not run) and prints the figures again with the RSS before and after. `--full` prints the page.
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sampleProcess } from "./proc.ts";

/** The allocator's split of its memory, MiB (tcmalloc's "MALLOC:" lines). */
export interface TcmallocStats {
  /** Bytes in use by application: what workerd's code (V8 array buffers included) holds now. */
  inUseMiB: number;
  /** Freed memory the allocator keeps resident: page heap, central, transfer, per-CPU and thread caches. */
  freeListsMiB: number;
  /** The page heap's share of `freeListsMiB`: whole free pages, the part a release could give back. */
  pageHeapFreeMiB: number;
  /** Given back to the OS (address space only). */
  releasedMiB: number;
  /** Allocator metadata. */
  metadataMiB: number;
  /** In use + free lists + metadata: tcmalloc's resident memory. */
  residentMiB: number;
  /** tcmalloc's resident memory at its peak since start. */
  peakMiB: number;
}

/** Whether gdb is on the PATH (Debian's `gdb`; the bench installs it with the other tools). */
export function haveGdb(): boolean {
  return spawnSync("gdb", ["--version"], { stdio: "ignore" }).status === 0;
}

// The commands gdb runs in the attached process. A std::string result (libc++: 24 bytes, zero = empty) is written into
// an anonymous page mapped for it, so nothing is allocated through the allocator being read while it is stopped.
function gdbScript(out: string, release: boolean): string {
  return [
    "set pagination off",
    "set confirm off",
    // Subrelease (off by default) lets a release return free pages inside hugepages still partly in use.
    ...(release
      ? ["call (void)TCMalloc_Internal_SetHPAASubrelease(1)", "call (void)MallocExtension_Internal_ReleaseMemoryToSystem(18446744073709551615UL)"]
      : []),
    "set $s = (unsigned long*)mmap(0, 4096, 3, 0x22, -1, 0)",
    "call (void)MallocExtension_Internal_GetStats($s)",
    // libc++'s long string: capacity (low bit set), size, data pointer.
    `eval "dump binary memory ${out} %lu %lu", $s[2], $s[2] + $s[1]`,
    "call (int)munmap($s, 4096)",
    "detach",
    "quit",
  ].join("\n");
}

/** What a batch gdb attached to a process printed, and whether it exited with an error. */
export interface GdbRun {
  stdout: string;
  stderr: string;
  failed: boolean;
}

/**
 * Runs gdb attached to `pid` in batch mode, without init files, with `args` after that (`-x script`, `-ex command`);
 * never rejects. Async, so a soak's reader in the same process goes on while gdb holds workerd.
 */
export function runGdb(pid: number, args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<GdbRun> {
  return new Promise((resolve) =>
    execFile(
      "gdb",
      ["-p", String(pid), "-batch", "-nx", ...args],
      { timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 << 20, env: { ...process.env, ...options.env } },
      (error, stdout, stderr) => resolve({ stdout: `${stdout}`, stderr: `${stderr}`, failed: error !== null }),
    ),
  );
}

/** The line of gdb's stderr that says why it could not attach or call (ptrace refused, no such process or symbol). */
export function gdbFailure(stderr: string): string | undefined {
  return stderr
    .split("\n")
    .find((l) => /No symbol|ptrace|not permitted|No such process/i.test(l))
    ?.trim();
}

/** tcmalloc's statistics page of process `pid` (after a release when `release`), or an Error saying why not. */
export async function tcmallocPage(pid: number, release = false): Promise<string | Error> {
  const dir = mkdtempSync(join(tmpdir(), "tcmalloc-"));
  try {
    const out = join(dir, "stats.txt");
    const script = join(dir, "stats.gdb");
    writeFileSync(script, gdbScript(out, release));
    const { stderr } = await runGdb(pid, ["-x", script]);
    try {
      return readFileSync(out, "utf8");
    } catch {
      const why = gdbFailure(stderr);
      return new Error(`gdb read no tcmalloc statistics from ${pid}${why ? `: ${why}` : ""}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The figures of a tcmalloc statistics page. */
export function parseTcmallocPage(page: string): TcmallocStats {
  const bytes = (label: RegExp): number => {
    const line = page.split("\n").find((l) => l.startsWith("MALLOC:") && label.test(l));
    return line ? Number(/MALLOC:\s*[=+]?\s*(\d+)/.exec(line)?.[1] ?? 0) : 0;
  };
  const mib = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;
  // Summed in bytes, rounded once.
  const freeLists = [
    /page heap freelist/,
    /central cache freelist/,
    /per-CPU cache freelist/,
    /Sharded cache freelist/,
    /transfer cache freelist/,
    /thread cache freelists/,
  ]
    .map(bytes)
    .reduce((a, b) => a + b, 0);
  return {
    inUseMiB: mib(bytes(/Bytes in use by application/)),
    freeListsMiB: mib(freeLists),
    pageHeapFreeMiB: mib(bytes(/page heap freelist/)),
    releasedMiB: mib(bytes(/released to OS/)),
    // The line itself, not "... metadata Arena unallocated" below it.
    metadataMiB: mib(bytes(/Bytes in malloc metadata$/)),
    residentMiB: mib(bytes(/Actual memory used \(physical/)),
    peakMiB: mib(bytes(/Actual memory used at peak/)),
  };
}

/** tcmalloc's figures for process `pid`, or an Error saying why they could not be read. */
export async function tcmallocStats(pid: number, release = false): Promise<TcmallocStats | Error> {
  const page = await tcmallocPage(pid, release);
  return page instanceof Error ? page : parseTcmallocPage(page);
}

/** One line of figures. */
export function describeTcmalloc(s: TcmallocStats): string {
  return `in use ${s.inUseMiB} MiB, free lists ${s.freeListsMiB} MiB (page heap ${s.pageHeapFreeMiB}), metadata ${s.metadataMiB} MiB, resident ${s.residentMiB} MiB (peak ${s.peakMiB}), released ${s.releasedMiB} MiB`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const pid = Number(process.argv[2]);
  if (!Number.isInteger(pid) || pid <= 0) {
    console.error("usage: node bench/tcmalloc-stats.ts <workerd pid> [--release] [--full]");
    process.exit(2);
  }
  if (!haveGdb()) {
    console.error("tcmalloc-stats needs gdb: apt-get install gdb");
    process.exit(1);
  }
  const rss = () => sampleProcess(pid)?.rssMiB.toFixed(1) ?? "?";
  const page = await tcmallocPage(pid);
  if (page instanceof Error) {
    console.error(page.message);
    process.exit(1);
  }
  if (process.argv.includes("--full")) console.log(page);
  console.log(`RSS ${rss()} MiB; ${describeTcmalloc(parseTcmallocPage(page))}`);
  if (process.argv.includes("--release")) {
    const after = await tcmallocStats(pid, true);
    if (after instanceof Error) throw after;
    console.log(`after ReleaseMemoryToSystem: RSS ${rss()} MiB; ${describeTcmalloc(after)}`);
  }
}
