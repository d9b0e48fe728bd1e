// Where queued objects wait: in memory up to a byte limit, past it in a directory (one file per object) up to a
// second byte limit; the queue makes room (drops old media) before it adds past both.
import { mkdir, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { InitMetaSchema, PartMetaSchema, SegmentMetaSchema, ThumbnailMetaSchema } from "../../../protocol/ingest.ts";
import type { MediaObject, MediaObjectRef, UploadLogger } from "./media-sink.ts";
import { describeObject, refOf } from "./media-sink.ts";
import { BacklogUnreadableError } from "./upload-errors.ts";

/** A queued object: its bytes in memory, or in a spill file. */
export interface BacklogEntry {
  /** Global order of arrival; spill files are named by it, so a directory listing replays in order. */
  readonly seq: number;
  readonly ref: MediaObjectRef;
  readonly size: number;
  /** The bytes while held in memory (also while a spill write is in progress). */
  bytes: Uint8Array | null;
  /** The spill file, once the object goes to disk. */
  file: string | null;
  /** The spill write in progress; it never rejects (a failed write leaves the object in memory, or loses it). */
  writing: Promise<void> | null;
  removed: boolean;
  /** A spill write failed and memory had no room left: the bytes are gone and the queue drops the object. */
  lost: boolean;
  /** Which budget the object counts against. */
  place: "memory" | "disk" | "none";
}

/** Options of a BacklogStore. */
export interface BacklogStoreOptions {
  /** The spill directory, created on first use. */
  dir: string;
  /** Bytes of queued objects held in memory before new ones spill to disk. */
  memoryLimitBytes: number;
  /** Bytes of spilled objects the directory may hold (default: no limit); past it the queue drops old media. */
  diskLimitBytes?: number;
  logger: UploadLogger;
  /** fsync each spill file before renaming it into place (default true). */
  fsync?: boolean;
}

/** Sizes of what the store holds. */
export interface BacklogStoreMetrics {
  memoryObjects: number;
  memoryBytes: number;
  diskObjects: number;
  diskBytes: number;
  spillFailures: number;
  /** Objects whose spill write failed while memory was full: their bytes were given up. */
  lostObjects: number;
}

/** What recover() found in the spill directory. */
export interface RecoveredBacklog {
  /** Readable spilled objects, oldest first. */
  entries: BacklogEntry[];
  /** Files that could not be read; each was deleted (a corrupt object cannot be replayed) and is not replayed. */
  unreadable: BacklogUnreadableError[];
}

const MAGIC = "EUB1";
const PREFIX_BYTES = 8;
const FILE_PATTERN = /^(\d{1,17})\.obj$/;

const StoredRefSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("init"), streamId: z.string(), rendition: z.string(), meta: InitMetaSchema }),
  z.object({ kind: z.literal("part"), streamId: z.string(), rendition: z.string(), meta: PartMetaSchema }),
  z.object({ kind: z.literal("segment"), streamId: z.string(), rendition: z.string(), meta: SegmentMetaSchema }),
  z.object({ kind: z.literal("thumbnail"), streamId: z.string(), meta: ThumbnailMetaSchema }),
]);

const StoredHeaderSchema = z.object({
  v: z.literal(1),
  seq: z.number().int().nonnegative(),
  size: z.number().int().nonnegative(),
  ref: StoredRefSchema,
});

/** BacklogStore holds queued objects in memory up to a byte limit and spills the rest to disk, atomically. */
export class BacklogStore {
  private readonly options: Required<BacklogStoreOptions>;
  private readonly writes = new Set<Promise<void>>();
  private dirReady: Promise<unknown> | null = null;
  // Starting from the clock keeps names of a new run after those a crashed run left, even before recover().
  private nextSeq = Date.now() * 1000;
  private memoryObjects = 0;
  private memoryBytes = 0;
  private diskObjects = 0;
  private diskBytes = 0;
  private spillFailures = 0;
  private lostObjects = 0;

  constructor(options: BacklogStoreOptions) {
    this.options = { fsync: true, diskLimitBytes: Number.POSITIVE_INFINITY, ...options };
  }

  /** True when an object of `size` bytes fits in memory or on disk without passing either limit. */
  fits(size: number): boolean {
    return this.memoryBytes + size <= this.options.memoryLimitBytes || this.diskBytes + size <= this.options.diskLimitBytes;
  }

  /**
   * Takes an object in; it spills to disk when the memory limit would be exceeded (await `entry.writing`). The caller
   * checks fits() first: add() itself never refuses.
   */
  add(object: MediaObject): BacklogEntry {
    const entry: BacklogEntry = {
      seq: this.nextSeq++,
      ref: refOf(object),
      size: object.bytes.byteLength,
      bytes: object.bytes,
      file: null,
      writing: null,
      removed: false,
      lost: false,
      place: "none",
    };
    if (this.memoryBytes + entry.size <= this.options.memoryLimitBytes) {
      this.account(entry, "memory");
    } else {
      this.account(entry, "disk");
      this.startSpill(entry);
    }
    return entry;
  }

  /** The object's bytes, read back from its spill file when it is on disk. */
  async load(entry: BacklogEntry): Promise<Uint8Array> {
    if (entry.bytes) return entry.bytes;
    if (entry.lost) throw new BacklogUnreadableError(String(entry.seq), "its spill write failed while memory was full");
    if (!entry.file) throw new BacklogUnreadableError(String(entry.seq), "neither in memory nor on disk");
    const { bytes } = await readSpillFile(entry.file);
    return bytes;
  }

  /**
   * Forgets an object (uploaded or dropped): its budget is freed at once (so fits() sees the room synchronously), then
   * its spill file is deleted once any write in progress ends.
   */
  async remove(entry: BacklogEntry): Promise<void> {
    if (entry.removed) return;
    entry.removed = true;
    this.account(entry, "none");
    if (entry.writing) await entry.writing;
    if (entry.file) {
      const file = entry.file;
      entry.file = null;
      await unlink(file).catch((error: NodeJS.ErrnoException) => {
        // A leftover file is replayed by the next recover(): a harmless idempotent re-PUT.
        if (error.code !== "ENOENT") this.options.logger.error("upload: cannot delete spill file", { file, error });
      });
    }
    entry.bytes = null;
  }

  /** Writes an in-memory object to disk (on shutdown, so the next start replays it). */
  async persist(entry: BacklogEntry): Promise<void> {
    if (entry.removed || entry.file || !entry.bytes) {
      if (entry.writing) await entry.writing;
      return;
    }
    this.account(entry, "disk");
    this.startSpill(entry);
    await entry.writing;
  }

  /** Resolves when no spill write is in progress. */
  async idle(): Promise<void> {
    while (this.writes.size > 0) await Promise.all([...this.writes]);
  }

  /** Finds the objects a previous run spilled, oldest first; deletes half-written temporary files. */
  async recover(): Promise<RecoveredBacklog> {
    await this.ensureDir();
    const names = await readdir(this.options.dir);
    const entries: BacklogEntry[] = [];
    const unreadable: BacklogUnreadableError[] = [];
    for (const name of names) {
      const path = join(this.options.dir, name);
      // Half-written files of a crash, and `.corrupt` files older versions set aside: neither can ever be replayed,
      // and left alone they would fill the disk the spool's limit is meant to protect.
      if (name.endsWith(".tmp") || name.endsWith(".corrupt")) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      if (!FILE_PATTERN.test(name)) continue;
      try {
        const { header } = await readSpillFile(path);
        entries.push({
          seq: header.seq,
          ref: header.ref,
          size: header.size,
          bytes: null,
          file: path,
          writing: null,
          removed: false,
          lost: false,
          place: "none",
        });
      } catch (error) {
        unreadable.push(error instanceof BacklogUnreadableError ? error : new BacklogUnreadableError(path, String(error)));
        // The caller logs why; the file itself is of no further use.
        await unlink(path).catch(() => undefined);
      }
    }
    entries.sort((a, b) => a.seq - b.seq);
    for (const entry of entries) {
      this.account(entry, "disk");
      this.nextSeq = Math.max(this.nextSeq, entry.seq + 1);
    }
    return { entries, unreadable };
  }

  /** Sizes of what the store holds now. */
  metrics(): BacklogStoreMetrics {
    return {
      memoryObjects: this.memoryObjects,
      memoryBytes: this.memoryBytes,
      diskObjects: this.diskObjects,
      diskBytes: this.diskBytes,
      spillFailures: this.spillFailures,
      lostObjects: this.lostObjects,
    };
  }

  /** Moves the entry's size from the budget it counts against to `place`. */
  private account(entry: BacklogEntry, place: BacklogEntry["place"]): void {
    if (entry.place === "memory") {
      this.memoryObjects--;
      this.memoryBytes -= entry.size;
    } else if (entry.place === "disk") {
      this.diskObjects--;
      this.diskBytes -= entry.size;
    }
    if (place === "memory") {
      this.memoryObjects++;
      this.memoryBytes += entry.size;
    } else if (place === "disk") {
      this.diskObjects++;
      this.diskBytes += entry.size;
    }
    entry.place = place;
  }

  private startSpill(entry: BacklogEntry): void {
    const bytes = entry.bytes;
    if (!bytes) return;
    const file = join(this.options.dir, `${String(entry.seq).padStart(17, "0")}.obj`);
    entry.file = file;
    const write = this.writeSpillFile(file, entry, bytes).then(
      () => {
        if (!entry.removed) entry.bytes = null;
      },
      (error: unknown) => {
        this.spillFailures++;
        entry.file = null;
        if (entry.removed) return;
        // Keeping the object in memory beats losing it, but only while memory has room: a disk that fails for good
        // (full, read-only) must not turn the spool into an unbounded memory buffer.
        if (this.memoryBytes + entry.size <= this.options.memoryLimitBytes) {
          this.account(entry, "memory");
          this.options.logger.error("upload: spill write failed, object kept in memory", {
            object: describeObject(entry.ref),
            file,
            error,
          });
          return;
        }
        this.account(entry, "none");
        this.lostObjects++;
        entry.lost = true;
        entry.bytes = null;
        this.options.logger.error("upload: spill write failed and the memory backlog is full, object dropped", {
          object: describeObject(entry.ref),
          file,
          error,
        });
      },
    );
    entry.writing = write;
    this.writes.add(write);
    void write.finally(() => {
      this.writes.delete(write);
      if (entry.writing === write) entry.writing = null;
    });
  }

  private async writeSpillFile(file: string, entry: BacklogEntry, bytes: Uint8Array): Promise<void> {
    await this.ensureDir();
    const header = Buffer.from(JSON.stringify({ v: 1, seq: entry.seq, size: entry.size, ref: entry.ref }));
    const prefix = Buffer.alloc(PREFIX_BYTES);
    prefix.write(MAGIC, 0, "latin1");
    prefix.writeUInt32BE(header.byteLength, 4);
    const tmp = `${file}.tmp`;
    const handle = await open(tmp, "w");
    try {
      await handle.writeFile([prefix, header, bytes]);
      if (this.options.fsync) await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  }

  private ensureDir(): Promise<unknown> {
    this.dirReady ??= mkdir(this.options.dir, { recursive: true }).catch((error: unknown) => {
      this.dirReady = null;
      throw error;
    });
    return this.dirReady;
  }
}

/** Reads and checks one spill file: magic, header, and a body of the announced size. */
async function readSpillFile(file: string): Promise<{ header: z.infer<typeof StoredHeaderSchema>; bytes: Uint8Array }> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (error) {
    throw new BacklogUnreadableError(file, "cannot read", { cause: error });
  }
  if (data.byteLength < PREFIX_BYTES || data.toString("latin1", 0, 4) !== MAGIC) {
    throw new BacklogUnreadableError(file, "not a spill file");
  }
  const headerLength = data.readUInt32BE(4);
  const bodyStart = PREFIX_BYTES + headerLength;
  if (bodyStart > data.byteLength) throw new BacklogUnreadableError(file, "truncated header");
  let header: z.infer<typeof StoredHeaderSchema>;
  try {
    header = StoredHeaderSchema.parse(JSON.parse(data.toString("utf8", PREFIX_BYTES, bodyStart)));
  } catch (error) {
    throw new BacklogUnreadableError(file, "invalid header", { cause: error });
  }
  if (data.byteLength - bodyStart !== header.size) {
    throw new BacklogUnreadableError(file, `body is ${data.byteLength - bodyStart} bytes, header says ${header.size}`);
  }
  return { header, bytes: data.subarray(bodyStart) };
}
