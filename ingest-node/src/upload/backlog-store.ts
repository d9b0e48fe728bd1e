// Where queued objects wait: in memory up to a byte limit, past it in a directory (one file per object).
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
  /** The spill write in progress; it never rejects (a failed write leaves the object in memory). */
  writing: Promise<void> | null;
  removed: boolean;
}

/** Options of a BacklogStore. */
export interface BacklogStoreOptions {
  /** The spill directory, created on first use. */
  dir: string;
  /** Bytes of queued objects held in memory before new ones spill to disk. */
  memoryLimitBytes: number;
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
}

/** What recover() found in the spill directory. */
export interface RecoveredBacklog {
  /** Readable spilled objects, oldest first. */
  entries: BacklogEntry[];
  /** Files that could not be read; each was renamed to `*.corrupt` and is not replayed. */
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

  constructor(options: BacklogStoreOptions) {
    this.options = { fsync: true, ...options };
  }

  /** Takes an object in; it spills to disk when the memory limit would be exceeded (await `entry.writing`). */
  add(object: MediaObject): BacklogEntry {
    const entry: BacklogEntry = {
      seq: this.nextSeq++,
      ref: refOf(object),
      size: object.bytes.byteLength,
      bytes: object.bytes,
      file: null,
      writing: null,
      removed: false,
    };
    if (this.memoryBytes + entry.size <= this.options.memoryLimitBytes) {
      this.memoryObjects++;
      this.memoryBytes += entry.size;
    } else {
      this.diskObjects++;
      this.diskBytes += entry.size;
      this.startSpill(entry);
    }
    return entry;
  }

  /** The object's bytes, read back from its spill file when it is on disk. */
  async load(entry: BacklogEntry): Promise<Uint8Array> {
    if (entry.bytes) return entry.bytes;
    if (!entry.file) throw new BacklogUnreadableError(String(entry.seq), "neither in memory nor on disk");
    const { bytes } = await readSpillFile(entry.file);
    return bytes;
  }

  /** Forgets an object (uploaded or dropped): frees its memory or deletes its spill file. */
  async remove(entry: BacklogEntry): Promise<void> {
    if (entry.removed) return;
    entry.removed = true;
    if (entry.writing) await entry.writing;
    if (entry.file) {
      this.diskObjects--;
      this.diskBytes -= entry.size;
      const file = entry.file;
      entry.file = null;
      await unlink(file).catch((error: NodeJS.ErrnoException) => {
        // A leftover file is replayed by the next recover(): a harmless idempotent re-PUT.
        if (error.code !== "ENOENT") this.options.logger.error("upload: cannot delete spill file", { file, error });
      });
    } else {
      this.memoryObjects--;
      this.memoryBytes -= entry.size;
    }
    entry.bytes = null;
  }

  /** Writes an in-memory object to disk (on shutdown, so the next start replays it). */
  async persist(entry: BacklogEntry): Promise<void> {
    if (entry.removed || entry.file || !entry.bytes) {
      if (entry.writing) await entry.writing;
      return;
    }
    this.memoryObjects--;
    this.memoryBytes -= entry.size;
    this.diskObjects++;
    this.diskBytes += entry.size;
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
      if (name.endsWith(".tmp")) {
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
        });
      } catch (error) {
        unreadable.push(
          error instanceof BacklogUnreadableError ? error : new BacklogUnreadableError(path, String(error)),
        );
        await rename(path, `${path}.corrupt`).catch(() => undefined);
      }
    }
    entries.sort((a, b) => a.seq - b.seq);
    for (const entry of entries) {
      this.diskObjects++;
      this.diskBytes += entry.size;
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
    };
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
        // Keeping the object in memory beats losing it: the limit is a soft bound.
        this.spillFailures++;
        this.diskObjects--;
        this.diskBytes -= entry.size;
        this.memoryObjects++;
        this.memoryBytes += entry.size;
        entry.file = null;
        this.options.logger.error("upload: spill write failed, object kept in memory", {
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
async function readSpillFile(
  file: string,
): Promise<{ header: z.infer<typeof StoredHeaderSchema>; bytes: Uint8Array }> {
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
