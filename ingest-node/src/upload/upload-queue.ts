// Ordered delivery: one lane per stream and rendition, each sending its next object only after the previous one
// was acknowledged; lanes run in parallel under a global bound; retryable failures back off forever, and when the
// backlog is full (memory and spool) the oldest media of the stream with the largest backlog is dropped.
import { isRenditionName, isStreamId } from "../../../protocol/names.ts";
import type { BacklogEntry, BacklogStore } from "./backlog-store.ts";
import { chooseEviction } from "./eviction.ts";
import type { BacklogMetrics, MediaObject, StreamBacklog, UploadEvent, UploadLogger } from "./media-sink.ts";
import { describeObject } from "./media-sink.ts";
import { Slots } from "./slots.ts";
import type { Random, RetryPolicy, Sleep } from "./retry.ts";
import { withRetry } from "./retry.ts";
import { EdgeUnavailableError, InvalidObjectError, StreamFencedError, UploadError, UploaderClosedError, UploaderStateError } from "./upload-errors.ts";

/** Sends one object; resolves with the body bytes the accepted request carried (fewer than the object's when the edge
 *  builds it from what it holds). */
export type Transport = (object: MediaObject, signal: AbortSignal) => Promise<number>;

/** Options of an UploadQueue. */
export interface UploadQueueOptions {
  store: BacklogStore;
  send: Transport;
  /** Requests in flight at once, across all lanes. */
  concurrency: number;
  retry: RetryPolicy;
  sleep: Sleep;
  random: Random;
  logger: UploadLogger;
  onEvent: (event: UploadEvent) => void;
}

interface QueueItem {
  entry: BacklogEntry;
  /** The publish epoch the object belongs to: fencing drops every object of a fenced epoch. */
  epoch: number;
  inFlight: boolean;
}

interface StreamState {
  id: string;
  maxEpoch: number;
  fencedEpoch: number | null;
  fenceError: StreamFencedError | null;
  /** Aborted (and replaced) when the stream is fenced, cutting its in-flight requests and backoffs short. */
  abort: AbortController;
  lanes: Set<Lane>;
  pendingObjects: number;
  pendingBytes: number;
  waiters: Array<{ resolve: () => void; reject: (error: Error) => void }>;
}

interface Lane {
  key: string;
  stream: StreamState;
  thumbnails: boolean;
  items: QueueItem[];
  worker: Promise<void> | null;
}

type Outcome =
  | { kind: "uploaded"; bytesSent: number }
  | { kind: "fenced" }
  | { kind: "dropped"; error: UploadError }
  | { kind: "evicted" }
  | { kind: "closed" };

type Counter = "uploadedObjects" | "uploadedBytes" | "retries" | "failedObjects" | "fencedObjects" | "supersededObjects" | "droppedObjects";

/** UploadQueue delivers queued objects in order per stream and rendition, in parallel across them. */
export class UploadQueue {
  private readonly options: UploadQueueOptions;
  private readonly slots: Slots;
  private readonly streams = new Map<string, StreamState>();
  private readonly lanes = new Map<string, Lane>();
  private readonly closing = new AbortController();
  private readonly counters: Record<Counter, number> = {
    uploadedObjects: 0,
    uploadedBytes: 0,
    retries: 0,
    failedObjects: 0,
    fencedObjects: 0,
    supersededObjects: 0,
    droppedObjects: 0,
  };
  /** Objects dropped for lack of room, per stream (kept past the stream's lanes: heartbeats report it). */
  private readonly droppedByStream = new Map<string, number>();
  private started = false;
  private closed: Promise<void> | null = null;

  constructor(options: UploadQueueOptions) {
    this.options = options;
    this.slots = new Slots(options.concurrency);
  }

  /** Queues an object behind the earlier ones of its lane; resolves once it is held (in memory or on disk). */
  async enqueue(object: MediaObject): Promise<void> {
    if (this.closed) throw new UploaderClosedError();
    validate(object);
    this.started = true;
    const stream = this.stream(object.streamId);
    const epoch = object.meta.epoch;
    if (isFenced(stream, epoch) && stream.fenceError) throw stream.fenceError;
    stream.maxEpoch = Math.max(stream.maxEpoch, epoch);
    const lane = this.lane(stream, object.kind === "thumbnail" ? null : object.rendition);
    if (lane.thumbnails) this.supersede(lane);
    if (!this.makeRoom(object.bytes.byteLength)) {
      // Nothing older can go (all in flight, or init segments): the newest object is the one given up.
      this.countDropped(stream.id, 1, describeObject(object));
      if (lane.items.length === 0 && !lane.worker) this.forgetLane(lane);
      return;
    }
    const entry = this.options.store.add(object);
    const item: QueueItem = { entry, epoch, inFlight: false };
    this.push(lane, item);
    if (entry.writing) await entry.writing;
    if (entry.lost && !item.inFlight) {
      const index = lane.items.indexOf(item);
      if (index >= 0) {
        lane.items.splice(index, 1);
        this.countDropped(stream.id, 1, describeObject(entry.ref));
        await this.options.store.remove(entry);
        this.done(stream, item);
      }
    }
  }

  /** Queues what a previous run spilled to disk, in its original order; only before the first enqueue(). */
  async recover(): Promise<number> {
    if (this.started) throw new UploaderStateError("recover() must run once, before the first object is queued");
    this.started = true;
    const { entries, unreadable } = await this.options.store.recover();
    for (const error of unreadable) {
      this.counters.failedObjects++;
      this.options.logger.error("upload: spilled object unreadable, not replayed", { file: error.file, error });
    }
    for (const entry of entries) {
      const stream = this.stream(entry.ref.streamId);
      const epoch = entry.ref.meta.epoch;
      stream.maxEpoch = Math.max(stream.maxEpoch, epoch);
      const lane = this.lane(stream, entry.ref.kind === "thumbnail" ? null : entry.ref.rendition);
      if (lane.thumbnails) this.supersede(lane);
      this.push(lane, { entry, epoch, inFlight: false }, false);
    }
    // Lanes start once everything is queued, so that a newer thumbnail supersedes an older one still waiting.
    for (const lane of this.lanes.values()) this.startWorker(lane);
    if (entries.length > 0) this.options.logger.info("upload: replaying spilled objects", { count: entries.length });
    return entries.length;
  }

  /** Resolves when the stream has nothing left to upload; rejects if it is fenced or the queue closes first. */
  flush(streamId: string): Promise<void> {
    if (this.closed) return Promise.reject(new UploaderClosedError());
    const stream = this.streams.get(streamId);
    if (!stream) return Promise.resolve();
    if (isFenced(stream, stream.maxEpoch) && stream.fenceError) return Promise.reject(stream.fenceError);
    if (stream.pendingObjects === 0) return Promise.resolve();
    return new Promise((resolve, reject) => stream.waiters.push({ resolve, reject }));
  }

  /** What the stream still has to upload, and how many of its objects were dropped for lack of room. */
  pending(streamId: string): StreamBacklog {
    const stream = this.streams.get(streamId);
    return {
      objects: stream?.pendingObjects ?? 0,
      bytes: stream?.pendingBytes ?? 0,
      dropped: this.droppedByStream.get(streamId) ?? 0,
    };
  }

  /** Queue sizes and counters. */
  metrics(): BacklogMetrics {
    return { ...this.options.store.metrics(), ...this.counters };
  }

  /** Stops every lane; with `spill`, writes objects still in memory to disk so that recover() replays them. */
  close(options: { spill?: boolean } = {}): Promise<void> {
    this.closed ??= this.shutdown(options.spill ?? true);
    return this.closed;
  }

  private async shutdown(spill: boolean): Promise<void> {
    const error = new UploaderClosedError();
    this.closing.abort(error);
    for (const stream of this.streams.values()) {
      for (const waiter of stream.waiters.splice(0)) waiter.reject(error);
    }
    await Promise.all([...this.lanes.values()].map((lane) => lane.worker));
    if (spill) {
      for (const lane of this.lanes.values()) {
        for (const item of lane.items) await this.options.store.persist(item.entry);
      }
    }
    await this.options.store.idle();
  }

  private stream(id: string): StreamState {
    let stream = this.streams.get(id);
    if (!stream) {
      stream = {
        id,
        maxEpoch: -1,
        fencedEpoch: null,
        fenceError: null,
        abort: new AbortController(),
        lanes: new Set(),
        pendingObjects: 0,
        pendingBytes: 0,
        waiters: [],
      };
      this.streams.set(id, stream);
    }
    return stream;
  }

  private lane(stream: StreamState, rendition: string | null): Lane {
    // Rendition names cannot contain "#", so the thumbnail lane never collides with one.
    const key = `${stream.id}/${rendition ?? "#thumbnail"}`;
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { key, stream, thumbnails: rendition === null, items: [], worker: null };
      this.lanes.set(key, lane);
      stream.lanes.add(lane);
    }
    return lane;
  }

  private push(lane: Lane, item: QueueItem, start = true): void {
    lane.items.push(item);
    lane.stream.pendingObjects++;
    lane.stream.pendingBytes += item.entry.size;
    if (start) this.startWorker(lane);
  }

  private startWorker(lane: Lane): void {
    if (lane.worker || this.closed) return;
    lane.worker = this.runLane(lane)
      .catch((error: unknown) => this.options.logger.error("upload: lane failed", { lane: lane.key, error }))
      .finally(() => {
        lane.worker = null;
        if (this.closed) return;
        if (lane.items.length > 0) this.startWorker(lane);
        else this.forgetLane(lane);
      });
  }

  private async runLane(lane: Lane): Promise<void> {
    while (!this.closed) {
      const item = lane.items[0];
      if (!item) return;
      item.inFlight = true;
      const outcome = await this.deliver(lane.stream, item);
      item.inFlight = false;
      if (outcome.kind === "closed") return;
      const index = lane.items.indexOf(item);
      if (index >= 0) lane.items.splice(index, 1);
      await this.settle(lane.stream, item, outcome);
    }
  }

  /** Sends one object until it is acknowledged or dropped, retrying what may succeed later. */
  private async deliver(stream: StreamState, item: QueueItem): Promise<Outcome> {
    const { options } = this;
    for (;;) {
      if (this.closed) return { kind: "closed" };
      if (isFenced(stream, item.epoch)) return { kind: "fenced" };
      const signal = AbortSignal.any([this.closing.signal, stream.abort.signal]);
      let object: MediaObject;
      try {
        object = { ...item.entry.ref, bytes: await options.store.load(item.entry) } as MediaObject;
      } catch (error) {
        if (item.entry.lost) return { kind: "evicted" };
        return { kind: "dropped", error: asUploadError(error) };
      }
      try {
        let bytesSent = 0;
        await withRetry(
          async () => {
            const release = await this.slots.acquire(signal);
            try {
              bytesSent = await options.send(object, signal);
            } finally {
              release();
            }
          },
          {
            policy: options.retry,
            isRetryable: (error) => error instanceof UploadError && error.retryable,
            serverHintMs: (error) => (error instanceof EdgeUnavailableError ? error.retryAfterMs : null),
            sleep: options.sleep,
            random: options.random,
            signal,
            onRetry: (error, retry, delayMs) => {
              this.counters.retries++;
              // The first failure and every tenth after it: an outage must show without flooding the log.
              if (retry % 10 === 0) {
                options.logger.warn("upload: retrying", {
                  object: describeObject(item.entry.ref),
                  retry: retry + 1,
                  delayMs,
                  error: error instanceof Error ? error.message : String(error),
                });
              }
            },
          },
        );
        return { kind: "uploaded", bytesSent };
      } catch (error) {
        // Closed, or the stream was fenced meanwhile: the loop head decides what becomes of the object.
        if (signal.aborted) continue;
        if (error instanceof StreamFencedError) {
          this.fence(stream, error);
          return { kind: "fenced" };
        }
        return { kind: "dropped", error: asUploadError(error) };
      }
    }
  }

  private async settle(stream: StreamState, item: QueueItem, outcome: Outcome): Promise<void> {
    const ref = item.entry.ref;
    if (outcome.kind === "uploaded") {
      this.counters.uploadedObjects++;
      this.counters.uploadedBytes += outcome.bytesSent;
    } else if (outcome.kind === "fenced") {
      this.counters.fencedObjects++;
    } else if (outcome.kind === "dropped") {
      this.counters.failedObjects++;
      this.options.logger.error("upload: object dropped", { object: describeObject(ref), error: outcome.error });
      this.emit({ type: "dropped", object: ref, error: outcome.error });
    } else if (outcome.kind === "evicted") {
      this.countDropped(stream.id, 1, describeObject(ref));
    }
    await this.options.store.remove(item.entry);
    this.done(stream, item);
  }

  /** Marks the stream fenced up to the error's epoch: drops its queued objects and ends its flushes. */
  private fence(stream: StreamState, error: StreamFencedError): void {
    if (stream.fencedEpoch !== null && error.epoch <= stream.fencedEpoch) return;
    stream.fencedEpoch = error.epoch;
    stream.fenceError = error;
    this.options.logger.error("upload: stream fenced, its uploads stop", {
      streamId: stream.id,
      epoch: error.epoch,
      detail: error.detail,
    });
    this.emit({ type: "fenced", streamId: stream.id, epoch: error.epoch, error });
    stream.abort.abort(error);
    stream.abort = new AbortController();
    for (const lane of stream.lanes) {
      const [dropped, kept] = partition(lane.items, (item) => !item.inFlight && item.epoch <= error.epoch);
      lane.items = kept;
      for (const item of dropped) {
        this.counters.fencedObjects++;
        void this.options.store.remove(item.entry);
        this.done(stream, item);
      }
    }
    if (isFenced(stream, stream.maxEpoch)) {
      for (const waiter of stream.waiters.splice(0)) waiter.reject(error);
    }
  }

  /** Drops queued thumbnails that a newer one replaces (the one in flight finishes). */
  private supersede(lane: Lane): void {
    const [dropped, kept] = partition(lane.items, (item) => !item.inFlight);
    lane.items = kept;
    for (const item of dropped) {
      this.counters.supersededObjects++;
      void this.options.store.remove(item.entry);
      this.done(lane.stream, item);
    }
  }

  /** Drops queued media (chooseEviction) until an object of `size` bytes fits; false when nothing more may go. */
  private makeRoom(size: number): boolean {
    const { store } = this.options;
    while (!store.fits(size)) {
      const victim = chooseEviction<QueueItem, Lane>(this.streams.values());
      if (!victim) return false;
      const { lane, items } = victim;
      lane.items = lane.items.filter((item) => !items.includes(item));
      for (const item of items) {
        void store.remove(item.entry);
        this.done(lane.stream, item);
      }
      this.countDropped(lane.stream.id, items.length, describeObject(items[0]!.entry.ref));
    }
    return true;
  }

  /** Counts objects dropped for lack of room; logs the first of a stream and every hundredth after it. */
  private countDropped(streamId: string, count: number, what: string): void {
    const before = this.droppedByStream.get(streamId) ?? 0;
    this.counters.droppedObjects += count;
    this.droppedByStream.set(streamId, before + count);
    if (before === 0 || Math.floor(before / 100) !== Math.floor((before + count) / 100)) {
      this.options.logger.warn("upload: backlog full (memory and spool), oldest media dropped", {
        streamId,
        object: what,
        droppedForStream: before + count,
      });
    }
  }

  private done(stream: StreamState, item: QueueItem): void {
    stream.pendingObjects--;
    stream.pendingBytes -= item.entry.size;
    if (stream.pendingObjects === 0) {
      for (const waiter of stream.waiters.splice(0)) waiter.resolve();
    }
  }

  private forgetLane(lane: Lane): void {
    this.lanes.delete(lane.key);
    const stream = lane.stream;
    stream.lanes.delete(lane);
    // A fenced stream is remembered so that late objects of its epoch are refused.
    if (stream.lanes.size === 0 && stream.fencedEpoch === null && stream.waiters.length === 0) {
      this.streams.delete(stream.id);
    }
  }

  private emit(event: UploadEvent): void {
    try {
      this.options.onEvent(event);
    } catch (error) {
      this.options.logger.error("upload: event listener threw", { event: event.type, error });
    }
  }
}

function isFenced(stream: StreamState, epoch: number): boolean {
  return stream.fencedEpoch !== null && epoch <= stream.fencedEpoch;
}

function validate(object: MediaObject): void {
  if (!isStreamId(object.streamId)) throw new InvalidObjectError(`invalid stream id ${JSON.stringify(object.streamId)}`);
  if (object.kind !== "thumbnail" && !isRenditionName(object.rendition)) {
    throw new InvalidObjectError(`invalid rendition name ${JSON.stringify(object.rendition)}`);
  }
  if (!(object.bytes instanceof Uint8Array)) throw new InvalidObjectError(`${describeObject(object)}: bytes missing`);
}

function asUploadError(error: unknown): UploadError {
  if (error instanceof UploadError) return error;
  return new UploadError("internal", error instanceof Error ? error.message : String(error), false, {
    cause: error,
  });
}

function partition<T>(items: T[], predicate: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (predicate(item) ? yes : no).push(item);
  return [yes, no];
}
