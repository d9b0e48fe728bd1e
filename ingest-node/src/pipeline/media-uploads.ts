// A publish's packager events as uploads: metadata under the current grant, sealed when encrypted, queued in order.
import type { PublishResponse, SegmentMeta } from "../../../protocol/ingest.ts";
import type { LatencyMode } from "../../../protocol/latency.ts";
import type { Logger } from "../log.ts";
import type { StoryboardSheets } from "../storyboard/storyboard-sheets.ts";
import type { PackagerEvent, PartEvent } from "../packager/packager.ts";
import type { MediaSink } from "../upload/media-sink.ts";
import { StreamFencedError } from "../upload/upload-errors.ts";
import type { CaptureClock } from "./capture-clock.ts";
import { composesSegmentsFromParts } from "./segment-composition.ts";
import { SegmentCipher } from "./segment-cipher.ts";

/** Options of MediaUploads. */
export interface MediaUploadsOptions {
  sink: MediaSink;
  clock: CaptureClock;
  log: Logger;
  /** Called for every complete segment (before it is queued for upload). */
  onSegment?: (rendition: string, msn: number, meta: SegmentMeta) => void;
  /** Called for every init segment. */
  onInit?: (rendition: string, bytes: Uint8Array) => void;
  /** Called for every part (a fragment of segment `msn`; its date computed only when asked), LL-HLS or not. */
  onPart?: (rendition: string, msn: number, part: PartEvent, programDateTime: () => string) => void;
  /** The edge fenced an upload of the current grant's epoch (409). */
  onFenced: () => void;
  /** Seek-preview sprite sheets made from the thumbnails (null or absent: none). */
  storyboard?: StoryboardSheets | null;
}

/** Queues a publish's init segments, parts, segments and thumbnails on the sink, under the grant in force. */
export class MediaUploads {
  private readonly options: MediaUploadsOptions;
  private grant: PublishResponse;
  /** Encrypts segments and parts when the edge asked for it (init segments and thumbnails stay clear). */
  private cipher: SegmentCipher | null;
  /** Segments go up as `from_parts`: the edge builds them from the parts it holds. */
  private composeSegments: boolean;
  private chain: Promise<void> = Promise.resolve();

  constructor(grant: PublishResponse, options: MediaUploadsOptions) {
    this.options = options;
    this.grant = grant;
    this.cipher = grant.encryption ? new SegmentCipher(grant.encryption) : null;
    this.composeSegments = composesSegmentsFromParts(grant);
  }

  /** Uploads from now on go under `grant` (a restart's new epoch and first msn). */
  setGrant(grant: PublishResponse): void {
    this.grant = grant;
    this.cipher = grant.encryption ? new SegmentCipher(grant.encryption) : null;
    this.composeSegments = composesSegmentsFromParts(grant);
  }

  /** How the media is encrypted, for logs. */
  describeEncryption(): string {
    return this.cipher ? `AES-128, key every ${this.cipher.rotateEvery} segments` : "none";
  }

  /** Resolves once everything queued so far was handed to the sink (and the storyboard's sheets sent). */
  async settled(): Promise<void> {
    await this.chain;
    await this.options.storyboard?.settled();
  }

  /**
   * Queues what one packager event of `rendition` produced. `ladder` names every rendition of the run: each init
   * declares it, so the edge lists the stream's renditions only once all of them have their init.
   */
  publish(rendition: string, event: PackagerEvent, mode: LatencyMode, declaredBandwidth: number, ladder: readonly string[]): void {
    const { sink, clock } = this.options;
    const id = this.grant.stream_id;
    const { epoch, first_msn: firstMsn } = this.grant;
    if (event.type === "init") {
      const bandwidth = declaredBandwidth || 5_000_000;
      const meta = {
        epoch,
        codecs: event.codecs,
        width: event.width ?? 0,
        height: event.height ?? 0,
        bandwidth,
        frame_rate: event.frameRate ?? 30,
        ...(ladder.length > 0 ? { ladder: [...ladder] } : {}),
      };
      this.options.onInit?.(rendition, event.bytes);
      this.queue(() => sink.putInit(id, rendition, meta, event.bytes));
    } else if (event.type === "part") {
      this.options.onPart?.(rendition, firstMsn + event.segmentIndex, event, () => clock.programDateTime(event.startTime));
      if (mode !== "interactive") return;
      const meta = { epoch, msn: firstMsn + event.segmentIndex, part: event.index, duration: event.duration, independent: event.independent };
      this.queue(async () => sink.putPart(id, rendition, meta, await this.seal(meta.msn, event.bytes)));
    } else {
      const meta = {
        epoch,
        msn: firstMsn + event.index,
        duration: event.duration,
        program_date_time: clock.programDateTime(event.startTime),
        parts: mode === "interactive" ? event.partCount : 0,
        // Its parts are at the edge already: let it build the segment from them rather than send every byte twice.
        ...(this.composeSegments && event.partCount > 0 ? { from_parts: true } : {}),
      };
      this.options.onSegment?.(rendition, meta.msn, meta);
      this.options.log.debug("segment produced", { rendition, msn: meta.msn, epoch, duration: Math.round(meta.duration * 1000) / 1000 });
      this.queue(async () => sink.putSegment(id, rendition, meta, await this.seal(meta.msn, event.bytes)));
    }
  }

  /** Queues the latest thumbnail, and adds it to the storyboard as its next tile. */
  thumbnail(jpeg: Uint8Array): void {
    const meta = { epoch: this.grant.epoch };
    this.options.storyboard?.add(this.grant.epoch, jpeg);
    this.queue(() => this.options.sink.putThumbnail(this.grant.stream_id, meta, jpeg));
  }

  /** A segment's or part's bytes as uploaded: encrypted under its msn's key when the broadcast is encrypted. */
  private seal(msn: number, bytes: Uint8Array): Promise<Uint8Array> | Uint8Array {
    return this.cipher ? this.cipher.encrypt(msn, bytes) : bytes;
  }

  /** Queues an upload; put* resolve once queued, so a chain keeps call order without waiting for the edge. */
  private queue(put: () => Promise<void>): void {
    const epoch = this.grant.epoch;
    this.chain = this.chain.then(put).catch((err: Error) => {
      // A 409 for an epoch a restart already handed back is expected; only the current one means another publish won.
      if (!(err instanceof StreamFencedError)) this.options.log.error("could not queue an upload", { error: err.message });
      else if (epoch === this.grant.epoch) this.options.onFenced();
    });
  }
}
