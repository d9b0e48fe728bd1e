// A worker's calls to the edge, all under the job's worker grant: read the source init and segment, upload a rung's
// init and segment through the ingest upload client. A 401/403 (grant refused) or 409 (epoch fenced) drops the job.
import { type InitMeta, MEDIA_META_HEADER, type SegmentMeta } from "../../../protocol/ingest.ts";
import { WORKER_GRANT_HEADER, workerPaths } from "../../../protocol/ingest-paths.ts";
import type { TranscodeJob } from "../queue/transcode-job.ts";
import { edgeRequest } from "../upload/edge-http.ts";
import { MEDIA_CONTENT_TYPE } from "../upload/edge-uploader.ts";
import { realSleep, retryPolicy, withRetry } from "../upload/retry.ts";
import { EdgeRejectedError, StreamFencedError, UploadError } from "../upload/upload-errors.ts";

/** Why a job cannot be done by anyone: it is dropped (no retry). */
export class JobRefusedError extends Error {
  readonly reason: "fenced" | "grant" | "late";
  constructor(reason: "fenced" | "grant" | "late", message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * Poll period while the source segment is not at the edge yet: the node enqueues a segment's jobs when it cuts it, at
 * the same time as it starts uploading it, so an idle worker usually asks before the upload landed. A miss costs the
 * edge one small 404; the period is what a rung waits beyond the upload.
 */
const SOURCE_POLL_MS = 50;

/** When one job's calls to the edge ended (Unix ms), for the worker's log: source read, first upload begun, last one done. */
export interface EdgeMarks {
  sourceReadAt?: number;
  firstUploadAt?: number;
  uploadedAt?: number;
}

/** The edge as one worker sees it. */
export class EdgeMedia {
  readonly #edgeUrl: string;
  readonly #workerId: string;
  /** Filled in as the calls end (a worker makes one EdgeMedia per job to time it). */
  readonly marks: EdgeMarks = {};

  constructor(edgeUrl: string, workerId: string) {
    this.#edgeUrl = edgeUrl.replace(/\/+$/, "");
    this.#workerId = workerId;
  }

  /** The source init segment and segment of `job`, waiting (until `deadline`) for them to land at the edge. */
  async readSource(job: TranscodeJob, deadline: number): Promise<{ init: Uint8Array; segment: Uint8Array }> {
    // Both at once: the init is there from the publish's start, so this costs one round trip, not two.
    const [init, segment] = await Promise.all([
      this.#read(job, workerPaths.sourceInit(job.streamId, job.sourceRendition, job.epoch), deadline),
      this.#read(job, workerPaths.sourceSegment(job.streamId, job.sourceRendition, job.msn), deadline),
    ]);
    this.marks.sourceReadAt = Date.now();
    return { init, segment };
  }

  /** Uploads a rung's init segment. */
  putInit(job: TranscodeJob, rendition: string, meta: InitMeta, bytes: Uint8Array, deadline: number): Promise<void> {
    return this.#put(job, workerPaths.init(job.streamId, rendition), meta, bytes, deadline);
  }

  /** Uploads a rung's segment. */
  putSegment(job: TranscodeJob, rendition: string, meta: SegmentMeta, bytes: Uint8Array, deadline: number): Promise<void> {
    return this.#put(job, workerPaths.segment(job.streamId, rendition, meta.msn), meta, bytes, deadline);
  }

  async #read(job: TranscodeJob, path: string, deadline: number): Promise<Uint8Array> {
    for (;;) {
      let status = 0;
      try {
        const response = await fetch(this.#edgeUrl + path, {
          headers: { [WORKER_GRANT_HEADER]: job.grant },
          signal: AbortSignal.timeout(Math.max(500, Math.min(10_000, deadline - Date.now()))),
        });
        status = response.status;
        if (status === 200) return new Uint8Array(await response.arrayBuffer());
        await response.body?.cancel();
      } catch {
        // The edge did not answer: like a 5xx, tried again until the deadline.
      }
      if (status === 401 || status === 403) throw new JobRefusedError("grant", `the edge refused the grant (${status}) reading ${path}`);
      if (status === 409) throw new JobRefusedError("fenced", "the job's epoch was fenced");
      if (Date.now() + SOURCE_POLL_MS >= deadline)
        throw new JobRefusedError("late", `the source was not readable before the deadline (${path}: ${status || "no answer"})`);
      await realSleep(SOURCE_POLL_MS);
    }
  }

  async #put(job: TranscodeJob, path: string, meta: InitMeta | SegmentMeta, bytes: Uint8Array, deadline: number): Promise<void> {
    this.marks.firstUploadAt ??= Date.now();
    const endpoint = { edgeUrl: this.#edgeUrl, nodeId: this.#workerId, credential: "worker-grant" };
    const headers = { [WORKER_GRANT_HEADER]: job.grant, [MEDIA_META_HEADER]: JSON.stringify(meta) };
    const signal = AbortSignal.timeout(Math.max(1_000, deadline - Date.now()));
    try {
      await withRetry(
        () =>
          edgeRequest(endpoint, {
            method: "PUT",
            path,
            body: bytes,
            contentType: MEDIA_CONTENT_TYPE,
            headers,
            timeoutMs: 5_000,
            signal,
            fence: { streamId: job.streamId, epoch: job.epoch },
          }),
        { policy: retryPolicy({ baseDelayMs: 100, maxDelayMs: 1_000 }), isRetryable: (error) => error instanceof UploadError && error.retryable, signal },
      );
      this.marks.uploadedAt = Date.now();
    } catch (error) {
      if (error instanceof StreamFencedError) throw new JobRefusedError("fenced", "the job's epoch was fenced");
      if (error instanceof EdgeRejectedError && (error.status === 401 || error.status === 403)) {
        throw new JobRefusedError("grant", `the edge refused the grant (${error.status}): ${error.detail}`);
      }
      if (signal.aborted) throw new JobRefusedError("late", `the upload did not land before the deadline (${path})`);
      throw error;
    }
  }
}
