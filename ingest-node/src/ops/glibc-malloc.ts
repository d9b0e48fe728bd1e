// glibc's allocator (malloc), through koffi: the only module that calls it. Why touch it: glibc serves a block of
// 128 KiB or more from a mapping of its own and unmaps it when freed, but each time such a block is freed it raises that
// threshold to the block's size (up to 32 MiB). The node's media buffers of about 1 MiB (a GOP's fragments) then come
// from the heap, and what is freed there mostly stays in the process. A fixed threshold gives the memory of every freed
// media buffer back at once: at 16 passthrough publishes, 4.8 → 3.6 MiB per stream (docs/BENCHMARKS.md, passthrough).
import koffi, { type LibraryHandle } from "koffi";

/** mallopt's parameter number for the mmap threshold (M_MMAP_THRESHOLD in glibc's malloc.h). */
const M_MMAP_THRESHOLD = -3;

/** Blocks from this size up get a mapping of their own, returned to the system when freed (glibc's own starting value). */
export const MMAP_THRESHOLD_BYTES = 128 * 1024;

/** What glibc's mallinfo2 reports about mapped blocks (for tests and diagnostics). */
export interface MappedBlocks {
  /** Blocks allocated as mappings of their own, now. */
  count: number;
  /** Their bytes. */
  bytes: number;
}

let libc: LibraryHandle | null | undefined;

function loadLibc(): LibraryHandle | null {
  if (libc === undefined) {
    try {
      libc = koffi.load("libc.so.6");
    } catch {
      libc = null; // not glibc (musl, macOS): nothing to tune
    }
  }
  return libc;
}

/** Fixes glibc's mmap threshold at MMAP_THRESHOLD_BYTES (no longer raised by frees); false without glibc. */
export function fixMmapThreshold(): boolean {
  const lib = loadLibc();
  if (!lib) return false;
  const mallopt = lib.func("int mallopt(int param, int value)") as (param: number, value: number) => number;
  return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) === 1;
}

let mallInfo2: ReturnType<typeof koffi.struct> | undefined;

/** The blocks glibc holds as mappings of their own now; null without glibc. */
export function mappedBlocks(): MappedBlocks | null {
  const lib = loadLibc();
  if (!lib) return null;
  // struct mallinfo2 (glibc 2.33+): ten size_t fields, of which hblks (mapped blocks) and hblkhd (their bytes).
  mallInfo2 ??= koffi.struct({
    arena: "size_t",
    ordblks: "size_t",
    smblks: "size_t",
    hblks: "size_t",
    hblkhd: "size_t",
    usmblks: "size_t",
    fsmblks: "size_t",
    uordblks: "size_t",
    fordblks: "size_t",
    keepcost: "size_t",
  });
  const mallinfo2 = lib.func("mallinfo2", mallInfo2, []) as () => { hblks: number | bigint; hblkhd: number | bigint };
  const info = mallinfo2();
  return { count: Number(info.hblks), bytes: Number(info.hblkhd) };
}
