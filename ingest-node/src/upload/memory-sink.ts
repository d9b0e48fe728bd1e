// An in-memory MediaSink for tests of the pipeline: it keeps every object, in the order it was put.
import type { InitMeta, PartMeta, SegmentMeta, StoryboardSheetMeta, ThumbnailMeta } from "../../../protocol/ingest.ts";
import type { BacklogMetrics, MediaObject, MediaSink, StreamBacklog } from "./media-sink.ts";
import { emptyBacklogMetrics } from "./media-sink.ts";
import { StreamFencedError, UploaderClosedError } from "./upload-errors.ts";

/** MemorySink stores objects in an array; it can be told to fence a stream like a 409 from the edge would. */
export class MemorySink implements MediaSink {
  /** Every object put, in order (a newer thumbnail does not remove older ones here). */
  readonly objects: MediaObject[] = [];
  private readonly fenced = new Map<string, StreamFencedError>();
  private closed = false;

  /** Queues a rendition's init segment. */
  putInit(streamId: string, rendition: string, meta: InitMeta, bytes: Uint8Array): Promise<void> {
    return this.put({ kind: "init", streamId, rendition, meta, bytes });
  }

  /** Queues an LL-HLS part. */
  putPart(streamId: string, rendition: string, meta: PartMeta, bytes: Uint8Array): Promise<void> {
    return this.put({ kind: "part", streamId, rendition, meta, bytes });
  }

  /** Queues a segment. */
  putSegment(streamId: string, rendition: string, meta: SegmentMeta, bytes: Uint8Array): Promise<void> {
    return this.put({ kind: "segment", streamId, rendition, meta, bytes });
  }

  /** Storyboard sheets sent, in order (every version of a sheet). */
  readonly storyboardSheets: { streamId: string; meta: StoryboardSheetMeta; bytes: Uint8Array }[] = [];

  /** Records a storyboard sheet. */
  async putStoryboardSheet(streamId: string, meta: StoryboardSheetMeta, bytes: Uint8Array): Promise<void> {
    const fenced = this.fenced.get(streamId);
    if (fenced) throw fenced;
    this.storyboardSheets.push({ streamId, meta, bytes });
  }

  /** Queues a thumbnail. */
  putThumbnail(streamId: string, meta: ThumbnailMeta, bytes: Uint8Array): Promise<void> {
    return this.put({ kind: "thumbnail", streamId, meta, bytes });
  }

  /** Resolves at once (everything is "uploaded" when put); rejects for a fenced stream. */
  async flush(streamId: string): Promise<void> {
    if (this.closed) throw new UploaderClosedError();
    const fenced = this.fenced.get(streamId);
    if (fenced) throw fenced;
  }

  /** Nothing is ever pending. */
  pending(_streamId: string): StreamBacklog {
    return { objects: 0, bytes: 0, dropped: 0 };
  }

  /** Counts what was put as uploaded. */
  backlog(): BacklogMetrics {
    const metrics = emptyBacklogMetrics();
    metrics.uploadedObjects = this.objects.length;
    metrics.uploadedBytes = this.objects.reduce((sum, object) => sum + object.bytes.byteLength, 0);
    return metrics;
  }

  /** Refuses further objects. */
  async close(): Promise<void> {
    this.closed = true;
  }

  /** Makes later puts and flushes of the stream fail as if the edge had answered 409 for `epoch`. */
  fence(streamId: string, epoch: number, detail = "lease lost"): void {
    this.fenced.set(streamId, new StreamFencedError(streamId, epoch, detail));
  }

  /** The objects put for one stream (and one rendition, if given), in order. */
  objectsOf(streamId: string, rendition?: string): MediaObject[] {
    return this.objects.filter(
      (object) => object.streamId === streamId && (rendition === undefined || (object.kind !== "thumbnail" && object.rendition === rendition)),
    );
  }

  private async put(object: MediaObject): Promise<void> {
    if (this.closed) throw new UploaderClosedError();
    const fenced = this.fenced.get(object.streamId);
    if (fenced && object.meta.epoch <= fenced.epoch) throw fenced;
    // A newer epoch is a new lease, as with the edge uploader.
    if (fenced) this.fenced.delete(object.streamId);
    this.objects.push({ ...object, bytes: object.bytes.slice() });
  }
}
