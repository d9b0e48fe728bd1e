// The one module that talks to Redis: BullMQ queues per worker class, the consumer a worker runs, queue metrics, and
// the key gpu workers refresh so nodes know one is there. Everything else sees TranscodeJob and plain functions.
import { type Job, Queue, UnrecoverableError, Worker } from "bullmq";
import { Redis } from "ioredis";
import { TranscodeJobSchema, transcodeJobId, type TranscodeJob, type WorkerClass } from "./transcode-job.ts";

/** The BullMQ queue of a worker class. */
export function queueName(cls: WorkerClass): string {
  return `edgecast-transcode-${cls}`;
}

/** A gpu worker refreshes this key; a node routes high rungs to gpu while it exists. */
const GPU_SEEN_KEY = "edgecast:pool:gpu-seen";
/** How long a gpu worker counts as present after it last said so. */
export const GPU_SEEN_MS = 15_000;

/**
 * Lock settings of every consumer: a worker killed mid-job (kill -9, a lost host) gives its job back within 2 s.
 * A live worker renews the lock of each job it runs every `lockRenewTime` (300 ms), so its lock (`lockDuration`, 1 s)
 * never lapses; a dead one's lapses at most 1 s after its last renewal. Every live worker runs BullMQ's stalled check
 * every `stalledInterval` (500 ms): a job that was active at the previous check and has no lock now goes back to wait,
 * so it is waiting again at most lockDuration + stalledInterval = 1.5 s after the kill, and the next free worker takes
 * it. The price is a Redis call per running job every 300 ms and per worker every 500 ms; a worker whose event loop
 * stalls over 1 s (encoding runs in FFmpeg, not in it) may see its job done twice, which is harmless: uploads are
 * idempotent. A job that stalls `maxStalledCount` (3) times (one that kills its worker each time) fails.
 */
export const CONSUMER_LOCKS = { lockDuration: 1_000, lockRenewTime: 300, stalledInterval: 500, maxStalledCount: 3 } as const;

/** Attempts of a failing job and the backoff between them (exponential from 250 ms), and how long finished ids stay. */
export const JOB_OPTIONS = {
  attempts: 4,
  backoff: { type: "exponential", delay: 250 },
  // Kept a while after they finish, so enqueuing the same id again (a replay) stays a no-op.
  removeOnComplete: { age: 600, count: 10_000 },
  removeOnFail: { age: 3_600, count: 10_000 },
} as const;

/** A Redis connection for BullMQ that reconnects every 200 ms (not ioredis' growing backoff) and never queues offline. */
function connect(redisUrl: string, blocking: boolean): Redis {
  return new Redis(redisUrl, {
    // Fail fast while Redis is away: the node's EnqueueBuffer holds jobs, a worker simply waits.
    enableOfflineQueue: blocking,
    maxRetriesPerRequest: blocking ? null : 1,
    retryStrategy: () => 200,
    lazyConnect: false,
  });
}

/** Depth of one class's queue. */
export interface QueueDepth {
  cls: WorkerClass;
  waiting: number;
  active: number;
  delayed: number;
  /** Age of the oldest waiting job (ms), 0 when none waits. */
  oldestWaitingMs: number;
}

/** The producer side a node uses: enqueue jobs, see whether a gpu worker is there, read queue depths. */
export class TranscodeQueues {
  readonly #connection: Redis;
  readonly #queues: Map<WorkerClass, Queue>;
  #gpuSeen = { at: 0, value: false };

  constructor(redisUrl: string) {
    this.#connection = connect(redisUrl, false);
    // Errors surface as rejected calls (the buffer retries); the emitter's copy would only be noise.
    this.#connection.on("error", () => undefined);
    this.#queues = new Map((["cpu", "gpu"] as const).map((cls) => [cls, new Queue(queueName(cls), { connection: this.#connection })]));
    for (const queue of this.#queues.values()) queue.on("error", () => undefined);
  }

  /** Enqueues `job` on `cls`'s queue under its deterministic id (a no-op when that id is already there). */
  async add(cls: WorkerClass, job: TranscodeJob): Promise<void> {
    if (this.#connection.status !== "ready") throw new Error(`redis is ${this.#connection.status}`);
    await this.#queues.get(cls)!.add("transcode", job, { ...JOB_OPTIONS, jobId: transcodeJobId(job) });
  }

  /** True when a gpu worker said it was there within GPU_SEEN_MS (asked at most once a second). */
  async gpuWorkerSeen(): Promise<boolean> {
    const now = Date.now();
    // While Redis is away the last answer stands (nothing can be enqueued then anyway): a job enqueued just after it
    // returns must not go to cpu only because the look failed.
    if (now - this.#gpuSeen.at < 1_000 || this.#connection.status !== "ready") return this.#gpuSeen.value;
    try {
      this.#gpuSeen.value = (await this.#connection.exists(GPU_SEEN_KEY)) === 1;
      this.#gpuSeen.at = now;
    } catch {
      // Same as above: keep the last answer and look again on the next job.
    }
    return this.#gpuSeen.value;
  }

  /** Depth of every class's queue; empty while Redis cannot be reached. */
  async depths(): Promise<QueueDepth[]> {
    return queueDepths(this.#connection, this.#queues);
  }

  /** Closes the queues and the connection. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#queues.values()].map((q) => q.close()));
    this.#connection.disconnect();
  }
}

async function queueDepths(connection: Redis, queues: Map<WorkerClass, Queue>): Promise<QueueDepth[]> {
  if (connection.status !== "ready") return [];
  const out: QueueDepth[] = [];
  for (const [cls, queue] of queues) {
    try {
      const counts = await queue.getJobCounts("waiting", "active", "delayed");
      // The wait list is pushed on the left: its oldest job is at the right end.
      const [oldest] = await queue.getJobs(["wait"], -1, -1);
      out.push({
        cls,
        waiting: counts.waiting ?? 0,
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        oldestWaitingMs: oldest ? Math.max(0, Date.now() - oldest.timestamp) : 0,
      });
    } catch {
      // Redis went away between the status check and the call: no figures this time.
    }
  }
  return out;
}

/** A job a consumer will not do (late, fenced, refused): it fails at once, without retries. */
export class DropJobError extends UnrecoverableError {}

/** When a job was enqueued and taken (Unix ms, BullMQ's `timestamp` and `processedOn`), and which attempt this is. */
export interface JobTaken {
  enqueuedAt: number;
  takenAt: number;
  waitedMs: number;
  attempt: number;
}

/** What the consumer tells its owner about each job. */
export interface ConsumerHooks {
  /** Runs one job; throws DropJobError to drop it, anything else to retry it with backoff. */
  run: (job: TranscodeJob, info: JobTaken) => Promise<void>;
  onError?: (error: Error) => void;
  /** A job whose worker stopped renewing its lock (killed, frozen) was given back to the queue by this worker's check. */
  onStalled?: (jobId: string) => void;
}

/** A running consumer of one class's queue. */
export interface TranscodeConsumer {
  depths(): Promise<QueueDepth[]>;
  close(): Promise<void>;
}

/** Starts consuming `cls`'s queue with `concurrency` jobs at once; a gpu consumer also says it is there. */
export function startTranscodeConsumer(redisUrl: string, cls: WorkerClass, concurrency: number, hooks: ConsumerHooks): TranscodeConsumer {
  const connection = connect(redisUrl, true);
  connection.on("error", (error: Error) => hooks.onError?.(error));
  const worker = new Worker(
    queueName(cls),
    async (bull: Job) => {
      const parsed = TranscodeJobSchema.safeParse(bull.data);
      if (!parsed.success) throw new DropJobError(`malformed job: ${parsed.error.message.slice(0, 200)}`);
      const takenAt = bull.processedOn ?? Date.now();
      await hooks.run(parsed.data, { enqueuedAt: bull.timestamp, takenAt, waitedMs: Math.max(0, takenAt - bull.timestamp), attempt: bull.attemptsMade + 1 });
    },
    // runRetryDelay: after Redis was away, look for jobs again within 250 ms (BullMQ's default waits 15 s).
    { connection, concurrency, ...CONSUMER_LOCKS, runRetryDelay: 250 },
  );
  worker.on("error", (error) => hooks.onError?.(error));
  worker.on("stalled", (jobId) => hooks.onStalled?.(jobId));
  let presence: NodeJS.Timeout | null = null;
  if (cls === "gpu") {
    const say = () => void connection.set(GPU_SEEN_KEY, "1", "PX", GPU_SEEN_MS).catch(() => undefined);
    say();
    presence = setInterval(say, 5_000);
    presence.unref();
  }
  const queues = new Map<WorkerClass, Queue>((["cpu", "gpu"] as const).map((c) => [c, new Queue(queueName(c), { connection })]));
  // While Redis is away these would print each refused connection's stack; the worker's own listener says it once.
  for (const queue of queues.values()) queue.on("error", () => undefined);
  return {
    depths: () => queueDepths(connection, queues),
    close: async () => {
      if (presence) clearInterval(presence);
      await worker.close();
      await Promise.allSettled([...queues.values()].map((q) => q.close()));
      connection.disconnect();
    },
  };
}
