// The boundary the media pipeline writes to: the edge uploader for real, an in-memory sink in tests.
import type { InitMeta, PartMeta, SegmentMeta, StoryboardSheetMeta, ThumbnailMeta } from "../../../protocol/ingest.ts";
import type { EdgeRejectedError, StreamFencedError, UploadError } from "./upload-errors.ts";

/** What identifies a media object, without its bytes. */
export type MediaObjectRef =
  | { kind: "init"; streamId: string; rendition: string; meta: InitMeta }
  | { kind: "part"; streamId: string; rendition: string; meta: PartMeta }
  | { kind: "segment"; streamId: string; rendition: string; meta: SegmentMeta }
  | { kind: "thumbnail"; streamId: string; meta: ThumbnailMeta };

/** A complete media object ready to upload. */
export type MediaObject = MediaObjectRef & { bytes: Uint8Array };

/** Queue sizes and cumulative counters of a sink. */
export interface BacklogMetrics {
  /** Objects waiting or in flight whose bytes are held in memory. */
  memoryObjects: number;
  memoryBytes: number;
  /** Objects waiting or in flight that were spilled to the backlog directory. */
  diskObjects: number;
  diskBytes: number;
  /** Objects the edge acknowledged (2xx). */
  uploadedObjects: number;
  /** Body bytes those uploads carried (a segment the edge built from its parts carried none). */
  uploadedBytes: number;
  /** Attempts that failed with a retryable error and were retried. */
  retries: number;
  /** Objects dropped because the edge rejected them (4xx) or they could not be read back from disk. */
  failedObjects: number;
  /** Objects dropped because their stream was fenced (409). */
  fencedObjects: number;
  /** Queued thumbnails replaced by a newer one. */
  supersededObjects: number;
  /** Spill writes that failed (the object then stayed in memory while it had room, else it was dropped). */
  spillFailures: number;
  /** Objects whose spill write failed while the memory backlog was full (also counted in droppedObjects). */
  lostObjects: number;
  /** Objects dropped because the backlog was full (memory and spool): the oldest media of the largest backlog. */
  droppedObjects: number;
}

/** What one stream still has to upload. */
export interface StreamBacklog {
  objects: number;
  bytes: number;
  /** Objects of the stream dropped so far because the backlog was full (the heartbeat's `upload_dropped`). */
  dropped: number;
}

/** Events a sink reports beside its metrics. */
export type UploadEvent =
  | { type: "fenced"; streamId: string; epoch: number; error: StreamFencedError }
  | { type: "dropped"; object: MediaObjectRef; error: EdgeRejectedError | UploadError };

/** A structured logger (console fits). */
export interface UploadLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * MediaSink receives every media object the moment it is complete.
 * The put methods resolve once the object is queued (in memory or spilled to disk), not when it is uploaded;
 * they reject with StreamFencedError for a fenced stream and UploaderClosedError after close().
 */
export interface MediaSink {
  /** Queues a rendition's init segment (ftyp+moov). */
  putInit(streamId: string, rendition: string, meta: InitMeta, bytes: Uint8Array): Promise<void>;
  /** Queues an LL-HLS part (moof+mdat). */
  putPart(streamId: string, rendition: string, meta: PartMeta, bytes: Uint8Array): Promise<void>;
  /** Queues a whole segment. */
  putSegment(streamId: string, rendition: string, meta: SegmentMeta, bytes: Uint8Array): Promise<void>;
  /** Queues a JPEG thumbnail; a queued older thumbnail of the same stream may be dropped. */
  putThumbnail(streamId: string, meta: ThumbnailMeta, bytes: Uint8Array): Promise<void>;
  /**
   * Sends a storyboard sprite sheet now, not queued: a failed one is replaced by the next version of the sheet
   * (storyboard/storyboard-sheets.ts). Resolves once the edge stored it. Optional: a sink without it makes no storyboard.
   */
  putStoryboardSheet?(streamId: string, meta: StoryboardSheetMeta, bytes: Uint8Array): Promise<void>;
  /** Resolves when everything queued for the stream is acknowledged or dropped; rejects if the stream is fenced. */
  flush(streamId: string): Promise<void>;
  /** Objects and bytes the stream still has to upload. */
  pending(streamId: string): StreamBacklog;
  /** Queue sizes and counters across all streams. */
  backlog(): BacklogMetrics;
  /** Stops uploading; with `spill` (the default) objects still in memory are written to disk for the next start. */
  close(options?: { spill?: boolean }): Promise<void>;
}

/** Metrics of a sink that has done nothing yet. */
export function emptyBacklogMetrics(): BacklogMetrics {
  return {
    memoryObjects: 0,
    memoryBytes: 0,
    diskObjects: 0,
    diskBytes: 0,
    uploadedObjects: 0,
    uploadedBytes: 0,
    retries: 0,
    failedObjects: 0,
    fencedObjects: 0,
    supersededObjects: 0,
    spillFailures: 0,
    lostObjects: 0,
    droppedObjects: 0,
  };
}

/** A short human-readable name of an object, for logs and errors. */
export function describeObject(ref: MediaObjectRef): string {
  switch (ref.kind) {
    case "init":
      return `${ref.streamId}/${ref.rendition}/init@${ref.meta.epoch}`;
    case "part":
      return `${ref.streamId}/${ref.rendition}/part ${ref.meta.msn}.${ref.meta.part}`;
    case "segment":
      return `${ref.streamId}/${ref.rendition}/segment ${ref.meta.msn}`;
    case "thumbnail":
      return `${ref.streamId}/thumbnail@${ref.meta.epoch}`;
  }
}

/** The object without its bytes. */
export function refOf(object: MediaObject): MediaObjectRef {
  const { bytes: _bytes, ...ref } = object;
  return ref as MediaObjectRef;
}
