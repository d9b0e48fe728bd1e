// A source segment's fragments as the node hands them to the pool while it cuts the segment: one Redis stream per
// segment (its init, then each fMP4 fragment in order, then an end entry with what was measured at the cut, or an abort
// entry when the node stopped appending). Pure: key names, the entries' fields, and the reader's checks that decide
// whether a worker can encode from the stream or must read the segment through the edge.
import type { TranscodeJob } from "./transcode-job.ts";

/** The Redis stream of one source segment's fragments (deterministic, like the job ids). */
export function fragmentsKey(job: Pick<TranscodeJob, "streamId" | "epoch" | "msn">): string {
  return `edgecast:pool:fragments:${job.streamId}_e${job.epoch}_m${job.msn}`;
}

/**
 * Why the node stopped appending a segment's fragments (the worker then reads the segment through the edge): the byte
 * cap, an append Redis did not take, or a run that ended before it cut the segment.
 */
export type AbortReason = "byte_cap" | "append_failed" | "not_cut";

/** One entry of a segment's stream. */
export type FragmentEntry =
  | { kind: "init"; bytes: Uint8Array }
  | { kind: "fragment"; index: number; bytes: Uint8Array }
  /** The segment was cut: `count` fragments, `duration` seconds as the node's packager measured, cut at `cutAt` (Unix ms). */
  | { kind: "end"; count: number; duration: number; cutAt: number }
  | { kind: "abort"; reason: string };

/** The field/value list XADD takes for `entry` (byte values passed as they are, no copy). */
export function entryFields(entry: FragmentEntry): (string | Uint8Array)[] {
  switch (entry.kind) {
    case "init":
      return ["k", "init", "b", entry.bytes];
    case "fragment":
      return ["k", "fragment", "i", String(entry.index), "b", entry.bytes];
    case "end":
      return ["k", "end", "n", String(entry.count), "d", String(entry.duration), "c", String(entry.cutAt)];
    case "abort":
      return ["k", "abort", "r", entry.reason];
  }
}

/** Reads an entry's field/value list back (as XREAD returns it, values as buffers); null when it is not one of ours. */
export function parseEntry(fields: readonly Uint8Array[]): FragmentEntry | null {
  if (fields.length % 2 !== 0) return null;
  const map = new Map<string, Uint8Array>();
  for (let i = 0; i < fields.length; i += 2) map.set(Buffer.from(fields[i]!).toString(), fields[i + 1]!);
  const text = (name: string) => {
    const value = map.get(name);
    return value === undefined ? undefined : Buffer.from(value).toString();
  };
  const integer = (name: string) => {
    const value = Number(text(name));
    return Number.isSafeInteger(value) && value >= 0 ? value : null;
  };
  const bytes = map.get("b");
  switch (text("k")) {
    case "init":
      return bytes && bytes.byteLength > 0 ? { kind: "init", bytes } : null;
    case "fragment": {
      const index = integer("i");
      return bytes && bytes.byteLength > 0 && index !== null ? { kind: "fragment", index, bytes } : null;
    }
    case "end": {
      const count = integer("n");
      const cutAt = integer("c");
      const duration = Number(text("d"));
      return count !== null && cutAt !== null && Number.isFinite(duration) && duration > 0 ? { kind: "end", count, duration, cutAt } : null;
    }
    case "abort":
      return { kind: "abort", reason: (text("r") ?? "").slice(0, 100) };
    default:
      return null;
  }
}

/** What a reader does with the next entry. */
export type ReadStep =
  | { kind: "init"; bytes: Uint8Array }
  | { kind: "fragment"; bytes: Uint8Array }
  | { kind: "end"; duration: number; cutAt: number }
  /** The stream cannot give the whole segment: read it through the edge instead. */
  | { kind: "fallback"; reason: string };

/**
 * Checks a segment's entries in the order they are read: the init first, then fragments numbered 0, 1, 2, ... with
 * none missing (an append the node lost while Redis was away leaves a hole), then an end entry that counts them all.
 * Anything else (an abort, a hole, an entry that is not ours, a count that disagrees) says: use the edge.
 */
export class FragmentSequence {
  #sawInit = false;
  #next = 0;
  #bytes = 0;
  readonly #maxBytes: number;

  /** `maxBytes`: the most fragment bytes a reader takes from one stream (the node's cap, as a reader's bound too). */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** The step for the next entry (null: not one of ours). */
  accept(entry: FragmentEntry | null): ReadStep {
    if (entry === null) return { kind: "fallback", reason: "an entry that is not a fragment entry" };
    if (entry.kind === "abort") return { kind: "fallback", reason: `the node stopped appending (${entry.reason})` };
    if (!this.#sawInit) {
      if (entry.kind !== "init") return { kind: "fallback", reason: `the stream starts with ${entry.kind}, not the init` };
      this.#sawInit = true;
      return { kind: "init", bytes: entry.bytes };
    }
    if (entry.kind === "init") return { kind: "fallback", reason: "a second init" };
    if (entry.kind === "end") {
      if (entry.count !== this.#next || this.#next === 0)
        return { kind: "fallback", reason: `the end counts ${entry.count} fragments, ${this.#next} were read` };
      return { kind: "end", duration: entry.duration, cutAt: entry.cutAt };
    }
    if (entry.index !== this.#next) return { kind: "fallback", reason: `fragment ${entry.index} where ${this.#next} was due` };
    this.#bytes += entry.bytes.byteLength;
    if (this.#bytes > this.#maxBytes) return { kind: "fallback", reason: `more than ${this.#maxBytes} bytes of fragments` };
    this.#next++;
    return { kind: "fragment", bytes: entry.bytes };
  }
}

/**
 * The node's side of one segment's stream: what to append for each fragment within the byte cap. Once a fragment
 * would pass `maxBytes`, or an append failed, the segment's stream is closed with an abort and nothing more is appended.
 */
export class SegmentAppendState {
  #bytes = 0;
  #count = 0;
  #closed = false;
  readonly #maxBytes: number;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** False once the stream was closed (ended or aborted). */
  get open(): boolean {
    return !this.#closed;
  }

  /** The entry to append for a fragment of `byteLength` bytes: the fragment, an abort once past the cap, or nothing once closed. */
  fragment(bytes: Uint8Array): FragmentEntry | null {
    if (this.#closed) return null;
    if (this.#bytes + bytes.byteLength > this.#maxBytes) return this.abort("byte_cap");
    this.#bytes += bytes.byteLength;
    return { kind: "fragment", index: this.#count++, bytes };
  }

  /** The end entry when the segment is cut (nothing when the stream was closed before). */
  end(duration: number, cutAt: number): FragmentEntry | null {
    if (this.#closed) return null;
    this.#closed = true;
    return { kind: "end", count: this.#count, duration, cutAt };
  }

  /** Closes the stream with an abort entry (null when it was closed already). */
  abort(reason: AbortReason): FragmentEntry | null {
    if (this.#closed) return null;
    this.#closed = true;
    return { kind: "abort", reason };
  }
}
