// Redis I/O of the segments' fragment streams (segment-fragments.ts says what they hold): the node appends each entry
// with one XADD, the worker reads them as they arrive with XREAD BLOCK on a connection of its own.
import { Command, Redis } from "ioredis";
import { type FragmentEntry, entryFields, FragmentSequence, parseEntry, type ReadStep } from "./segment-fragments.ts";

/** Where a node appends segments' entries: Redis in production, anything with this shape in tests. */
export interface FragmentSink {
  /** Appends `entry` to stream `key`; with `expireAt` (Unix ms) the whole stream goes away then. */
  append(key: string, entry: FragmentEntry, expireAt: number | null): Promise<void>;
}

/** A byte view that ioredis sends as it is (it would turn a plain Uint8Array into text); no copy. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The parts of a socket a write-through command uses. */
interface CorkableSocket {
  write(chunk: string | Uint8Array): boolean;
  cork(): void;
  uncork(): void;
}

/**
 * An XADD whose byte values go to the socket as they are. Why: ioredis joins a command that has a Buffer argument into
 * one new buffer (MixedBuffers.toBuffer): for every fragment a copy and a ~80 KB allocation that V8 counts toward its
 * next full collection and glibc serves from its heap, memory a queue-mode node kept per stream. ioredis hands
 * toWritable the connection's socket and then writes what it returns, so the command is written here up to its last
 * byte value and the closing CRLF is returned; the socket is corked until then, so the parts leave in one writev (one
 * loopback send, not one per part). Only for a command sent alone on a connection without auto-pipelining: a pipeline
 * or MULTI writes its commands' writables into a buffer of its own, so those keep the usual XADD.
 */
class WriteThroughXadd extends Command {
  constructor(key: string, fields: (string | Buffer)[]) {
    super("xadd", [key, "*", ...fields], { replyEncoding: "utf8" });
  }

  override toWritable(socket: object): string {
    const out = socket as CorkableSocket;
    out.cork();
    process.nextTick(() => out.uncork());
    let text = `*${this.args.length + 1}\r\n$4\r\nxadd\r\n`;
    for (const arg of this.args) {
      if (Buffer.isBuffer(arg)) {
        out.write(`${text}$${arg.byteLength}\r\n`);
        out.write(arg);
        text = "\r\n";
      } else text += `$${Buffer.byteLength(String(arg))}\r\n${String(arg)}\r\n`;
    }
    return text;
  }
}

/**
 * The node's appender: one connection, one XADD per entry. A fragment's bytes go to the socket without a copy; an entry
 * with an expiry (the init, an end that extends it) goes in a MULTI with its PEXPIREAT. Both write at once, in call
 * order, so the entries land in the order they were appended.
 */
export class RedisFragmentSink implements FragmentSink {
  readonly #redis: Redis;

  constructor(redisUrl: string) {
    // Fail fast while Redis is away (no offline queue, one try): a lost append closes that segment's stream, and its
    // workers read the segment through the edge.
    this.#redis = new Redis(redisUrl, { enableOfflineQueue: false, enableAutoPipelining: false, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    this.#redis.on("error", () => undefined);
  }

  async append(key: string, entry: FragmentEntry, expireAt: number | null): Promise<void> {
    if (this.#redis.status !== "ready") throw new Error(`redis is ${this.#redis.status}`);
    const fields = entryFields(entry).map((v) => (typeof v === "string" ? v : asBuffer(v)));
    if (expireAt === null) {
      await this.#redis.sendCommand(new WriteThroughXadd(key, fields));
      return;
    }
    const results = await this.#redis
      .multi()
      .xadd(key, "*", ...fields)
      .pexpireat(key, expireAt)
      .exec();
    const failed = results?.find(([error]) => error !== null)?.[0];
    if (failed) throw failed;
  }

  /** Closes the connection. */
  close(): void {
    this.#redis.disconnect();
  }
}

/** Bounds of one read of a segment's stream. */
export interface FragmentReadOptions {
  /** Longest wait for the next entry (WORKER_FRAGMENT_WAIT_MS); past it the reader gives up (fallback). */
  waitMs: number;
  /** Most fragment bytes taken from one stream. */
  maxBytes: number;
}

/**
 * Longest wait for a stream's first entry (the init). The node appends it before it queues the segment's jobs, so it
 * is there when a job is taken; a stream that is not there at all was lost (Redis was away when the segment opened),
 * and the job is better off reading the edge at once than waiting the whole WORKER_FRAGMENT_WAIT_MS for it.
 */
const FIRST_ENTRY_WAIT_MS = 1_000;

/** Entries asked for per XREAD (a reader that fell behind catches up in few round trips). */
const READ_COUNT = 64;

/**
 * Reads stream `key` from its first entry and yields each checked step: the init, the fragments, then the end, or a
 * fallback (no entry within `waitMs`, Redis away, a hole, an abort). It ends after the end or a fallback; breaking out
 * of it early closes its connection.
 */
export async function* readSegmentFragments(redisUrl: string, key: string, options: FragmentReadOptions): AsyncGenerator<ReadStep> {
  // Its own connection: XREAD BLOCK holds it. One try per call and no reconnect loop past the wait: an unreachable
  // Redis is a fallback, not a wait.
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true, connectTimeout: options.waitMs });
  redis.on("error", () => undefined);
  const sequence = new FragmentSequence(options.maxBytes);
  let lastId = "0";
  try {
    await redis.connect();
    for (;;) {
      const waitMs = lastId === "0" ? Math.min(FIRST_ENTRY_WAIT_MS, options.waitMs) : options.waitMs;
      let timer: NodeJS.Timeout | undefined;
      // A guard beside BLOCK: a connection that stops answering must not hold the job past the wait either.
      const guard = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), waitMs + 1_000);
      });
      const read = redis.xreadBuffer("COUNT", READ_COUNT, "BLOCK", waitMs, "STREAMS", key, lastId);
      const reply = await Promise.race([read, guard]).finally(() => clearTimeout(timer));
      if (reply === "timeout" || reply === null) {
        yield { kind: "fallback", reason: lastId === "0" ? `no stream (nothing within ${waitMs} ms)` : `no entry within ${waitMs} ms` };
        return;
      }
      for (const [, entries] of reply) {
        for (const [id, fields] of entries) {
          lastId = id.toString();
          const step = sequence.accept(parseEntry(fields));
          yield step;
          if (step.kind === "end" || step.kind === "fallback") return;
        }
      }
    }
  } catch (error) {
    yield { kind: "fallback", reason: `redis: ${(error as Error).message}` };
  } finally {
    redis.disconnect();
  }
}
