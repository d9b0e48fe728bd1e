// The real MediaSink: PUTs every object to the edge's ingest API, in order, retried, spilled to disk when it piles up.
import type { InitMeta, PartMeta, SegmentMeta, StoryboardSheetMeta, ThumbnailMeta } from "../../../protocol/ingest.ts";
import { MEDIA_META_HEADER } from "../../../protocol/ingest.ts";
import { ingestPaths } from "../../../protocol/ingest-paths.ts";
import { BacklogStore } from "./backlog-store.ts";
import type { EdgeEndpoint, EdgeRequest } from "./edge-http.ts";
import { edgeRequest } from "./edge-http.ts";
import type { BacklogMetrics, MediaObject, MediaSink, StreamBacklog, UploadEvent, UploadLogger } from "./media-sink.ts";
import type { Random, RetryPolicy, Sleep } from "./retry.ts";
import { realSleep, retryPolicy } from "./retry.ts";
import { EdgeRejectedError } from "./upload-errors.ts";
import { UploadQueue } from "./upload-queue.ts";

/** Content type of init segments, parts and segments. */
export const MEDIA_CONTENT_TYPE = "video/mp4";

/** Content type of thumbnails. */
export const THUMBNAIL_CONTENT_TYPE = "image/jpeg";

/** Configuration of an EdgeUploader. */
export interface EdgeUploaderConfig extends EdgeEndpoint {
  /** Directory where objects spill past the memory limit and that recover() replays. */
  spillDir: string;
  /** Bytes held in memory before objects spill to disk (default 64 MiB). */
  memoryLimitBytes?: number;
  /** Bytes the spill directory may hold (default 1 GiB); past both limits the oldest media is dropped. */
  diskLimitBytes?: number;
  /** Requests in flight at once across all streams and renditions (default 8). */
  concurrency?: number;
  /** Timeout of one request, body included (default 15 s). */
  requestTimeoutMs?: number;
  /** Backoff between attempts (default 200 ms base, 5 s cap, forever). */
  retry?: Partial<RetryPolicy>;
  /** fsync spill files before renaming them into place (default true). */
  fsync?: boolean;
  /** Injectable clock and randomness, so tests can run a long outage quickly. */
  sleep?: Sleep;
  random?: Random;
  logger?: UploadLogger;
  /** Fenced streams and dropped objects, beside the log and the metrics. */
  onEvent?: (event: UploadEvent) => void;
}

/** Defaults of EdgeUploaderConfig, merged once. */
export const EDGE_UPLOADER_DEFAULTS = {
  memoryLimitBytes: 64 * 1024 * 1024,
  diskLimitBytes: 1024 * 1024 * 1024,
  concurrency: 8,
  requestTimeoutMs: 15_000,
  fsync: true,
};

/** EdgeUploader uploads media objects to the edge: a MediaSink backed by node:http (edge-http.ts), a backlog and ordered lanes. */
export class EdgeUploader implements MediaSink {
  private readonly endpoint: EdgeEndpoint;
  private readonly requestTimeoutMs: number;
  private readonly queue: UploadQueue;

  constructor(config: EdgeUploaderConfig) {
    const defaults = EDGE_UPLOADER_DEFAULTS;
    const logger = config.logger ?? console;
    this.endpoint = { edgeUrl: config.edgeUrl, nodeId: config.nodeId, credential: config.credential };
    this.requestTimeoutMs = config.requestTimeoutMs ?? defaults.requestTimeoutMs;
    const store = new BacklogStore({
      dir: config.spillDir,
      memoryLimitBytes: config.memoryLimitBytes ?? defaults.memoryLimitBytes,
      diskLimitBytes: config.diskLimitBytes ?? defaults.diskLimitBytes,
      fsync: config.fsync ?? defaults.fsync,
      logger,
    });
    this.queue = new UploadQueue({
      store,
      send: (object, signal) => this.send(object, signal),
      concurrency: config.concurrency ?? defaults.concurrency,
      retry: retryPolicy(config.retry),
      sleep: config.sleep ?? realSleep,
      random: config.random ?? Math.random,
      logger,
      onEvent: config.onEvent ?? (() => undefined),
    });
  }

  /** Replays what a previous run spilled to the directory; call once at start, before the first put. */
  recover(): Promise<number> {
    return this.queue.recover();
  }

  /** Queues a rendition's init segment. */
  putInit(streamId: string, rendition: string, meta: InitMeta, bytes: Uint8Array): Promise<void> {
    return this.queue.enqueue({ kind: "init", streamId, rendition, meta, bytes });
  }

  /** Queues an LL-HLS part. */
  putPart(streamId: string, rendition: string, meta: PartMeta, bytes: Uint8Array): Promise<void> {
    return this.queue.enqueue({ kind: "part", streamId, rendition, meta, bytes });
  }

  /** Queues a segment. */
  putSegment(streamId: string, rendition: string, meta: SegmentMeta, bytes: Uint8Array): Promise<void> {
    return this.queue.enqueue({ kind: "segment", streamId, rendition, meta, bytes });
  }

  /** Queues a thumbnail, replacing one of the same stream still waiting. */
  putThumbnail(streamId: string, meta: ThumbnailMeta, bytes: Uint8Array): Promise<void> {
    return this.queue.enqueue({ kind: "thumbnail", streamId, meta, bytes });
  }

  /** Sends a storyboard sprite sheet now (not queued: the sheet's next version replaces a failed one). */
  async putStoryboardSheet(streamId: string, meta: StoryboardSheetMeta, bytes: Uint8Array): Promise<void> {
    await edgeRequest(this.endpoint, {
      path: ingestPaths.storyboardSheet(streamId, meta.sheet),
      method: "PUT",
      contentType: THUMBNAIL_CONTENT_TYPE,
      headers: { [MEDIA_META_HEADER]: JSON.stringify(meta) },
      body: bytes,
      timeoutMs: this.requestTimeoutMs,
      fence: { streamId, epoch: meta.epoch },
    });
  }

  /** Resolves when everything queued for the stream is acknowledged or dropped; rejects if it is fenced. */
  flush(streamId: string): Promise<void> {
    return this.queue.flush(streamId);
  }

  /** What the stream still has to upload (the `backlog` of its heartbeat). */
  pending(streamId: string): StreamBacklog {
    return this.queue.pending(streamId);
  }

  /** Queue sizes and counters. */
  backlog(): BacklogMetrics {
    return this.queue.metrics();
  }

  /** Stops uploading; by default writes what is still in memory to disk for recover() on the next start. */
  close(options?: { spill?: boolean }): Promise<void> {
    return this.queue.close(options);
  }

  private async send(object: MediaObject, signal: AbortSignal): Promise<number> {
    const put = (sent: MediaObject, body: Uint8Array) =>
      edgeRequest(this.endpoint, {
        ...requestFor(sent),
        method: "PUT",
        body,
        timeoutMs: this.requestTimeoutMs,
        signal,
        fence: { streamId: sent.streamId, epoch: sent.meta.epoch },
      });
    if (object.kind === "segment" && object.meta.from_parts) {
      // The edge builds the segment from the parts it holds; a 422 (`parts_missing`: one was dropped) means it wants
      // the bytes, which are still here.
      try {
        await put(object, NO_BYTES);
        return 0;
      } catch (error) {
        if (!(error instanceof EdgeRejectedError && error.status === 422)) throw error;
      }
      const { from_parts: _composed, ...meta } = object.meta;
      await put({ ...object, meta }, object.bytes);
      return object.bytes.byteLength;
    }
    await put(object, object.bytes);
    return object.bytes.byteLength;
  }
}

const NO_BYTES = new Uint8Array(0);

/** The path, content type and metadata header of an object's PUT. */
export function requestFor(object: MediaObject): Pick<EdgeRequest, "path" | "contentType" | "headers"> {
  switch (object.kind) {
    case "init":
      return {
        path: ingestPaths.init(object.streamId, object.rendition),
        contentType: MEDIA_CONTENT_TYPE,
        headers: { [MEDIA_META_HEADER]: JSON.stringify(object.meta) },
      };
    case "part":
      return {
        path: ingestPaths.part(object.streamId, object.rendition, object.meta.msn, object.meta.part),
        contentType: MEDIA_CONTENT_TYPE,
        headers: { [MEDIA_META_HEADER]: JSON.stringify(object.meta) },
      };
    case "segment":
      return {
        path: ingestPaths.segment(object.streamId, object.rendition, object.meta.msn),
        contentType: MEDIA_CONTENT_TYPE,
        headers: { [MEDIA_META_HEADER]: JSON.stringify(object.meta) },
      };
    case "thumbnail":
      return {
        path: ingestPaths.thumbnail(object.streamId),
        contentType: THUMBNAIL_CONTENT_TYPE,
        headers: { [MEDIA_META_HEADER]: JSON.stringify(object.meta) },
      };
  }
}
