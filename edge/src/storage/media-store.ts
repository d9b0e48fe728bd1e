// The one door to the media bucket: every read, write, composition and deletion of a media object, an on-demand
// asset's playlists, a thumbnail or a poster goes through a MediaStore, which alone turns addresses into keys
// (media.ts). It runs on R2 (media-bucket.ts) or, in unit tests, on an in-memory bucket (memory-bucket.ts).
import {
  type AssetKind,
  addressOfKey,
  assetMasterKey,
  assetMediaKey,
  assetPrefix,
  directoryKey,
  type MediaAddress,
  type MediaDirectory,
  mediaContentType,
  mediaFile,
  mediaKey,
  posterKey,
  storyboardEpochOfKey,
  storyboardIndexKey,
  storyboardSheetKey,
  streamPrefix,
  thumbnailKey,
} from "./media.ts";
import type { ByteRange, ObjectBucket, StoredBody } from "./object-bucket.ts";
import { IMMUTABLE, serveStoredObject } from "./r2-response.ts";

const PLAYLIST_TYPE = "application/vnd.apple.mpegurl";
/** R2 deletes at most this many keys per call. */
const DELETE_BATCH = 1000;

/** How an HTTP answer of a stored object is labelled. */
export interface ServeOptions {
  cacheControl: string;
  /** What the object is, for the 404 problem ("VOD", "Poster", ...). */
  what: string;
}

/** Reads and writes a stream's media, thumbnails and on-demand assets in one bucket. */
export class MediaStore {
  private readonly bucket: ObjectBucket;

  constructor(bucket: ObjectBucket) {
    this.bucket = bucket;
  }

  // ---- live media -------------------------------------------------------------------------------------------

  /** Stores a media object (init segment, part or segment). */
  async putMedia(address: MediaAddress, body: ReadableStream | ArrayBuffer | ArrayBufferView): Promise<void> {
    await this.bucket.put(mediaKey(address), body, { httpMetadata: { contentType: mediaContentType(address.file) } });
  }

  /**
   * Segment `msn` of `directory` as the concatenation of its `parts` LL-HLS parts already stored, or null when one of
   * them is not (never uploaded, or dropped by the node).
   */
  async composeSegment(directory: MediaDirectory, msn: number, parts: number): Promise<Uint8Array | null> {
    const objects = await Promise.all(Array.from({ length: parts }, (_, part) => this.bucket.get(mediaKey({ ...directory, file: mediaFile.part(msn, part) }))));
    if (objects.some((object) => object === null)) {
      // Read bodies must be consumed or cancelled, or the runtime holds them until the request ends.
      await Promise.all(objects.map((object) => (object && "body" in object ? object.body.cancel() : undefined)));
      return null;
    }
    const bodies = await Promise.all(objects.map((object) => (object as StoredBody).arrayBuffer()));
    const segment = new Uint8Array(bodies.reduce((sum, body) => sum + body.byteLength, 0));
    let at = 0;
    for (const body of bodies) {
      segment.set(new Uint8Array(body), at);
      at += body.byteLength;
    }
    return segment;
  }

  /** A media object's bytes (or `range` of them), or null when it is not stored. */
  async readMedia(address: MediaAddress, range?: ByteRange): Promise<Uint8Array | null> {
    const object = await this.bucket.get(mediaKey(address), range ? { range } : undefined);
    if (!object || !("body" in object)) return null;
    return new Uint8Array(await object.arrayBuffer());
  }

  /** A media object's bytes as a stream, with its size, or null when it is not stored. */
  async openMedia(address: MediaAddress): Promise<{ body: ReadableStream; size: number } | null> {
    const object = await this.bucket.get(mediaKey(address));
    return object && "body" in object ? { body: object.body, size: object.size } : null;
  }

  /** A media object's bytes (or `range` of them) as a stream, or null when it is not stored. */
  async mediaStream(address: MediaAddress, range?: ByteRange): Promise<ReadableStream | null> {
    const object = await this.bucket.get(mediaKey(address), range ? { range } : undefined);
    return object && "body" in object ? object.body : null;
  }

  /** Sizes of the stored segments of `directories`: one listing per directory, not one HEAD per segment. */
  async segmentSizes(directories: MediaDirectory[]): Promise<(address: MediaAddress) => number | undefined> {
    const sizes = new Map<string, number>();
    const prefixes = new Set(directories.map((directory) => `${directoryKey(directory)}seg-`));
    for (const prefix of prefixes) for await (const object of this.listed(prefix)) sizes.set(object.key, object.size);
    return (address) => sizes.get(mediaKey(address));
  }

  /** Answers a request for a media object (GET with Range, or HEAD), immutable. */
  serveMedia(address: MediaAddress, request: Request): Promise<Response> {
    return serveStoredObject(this.bucket, mediaKey(address), request, {
      contentType: mediaContentType(address.file),
      cacheControl: IMMUTABLE,
      what: "Media object",
    });
  }

  /** Stores a stream's latest thumbnail (JPEG). */
  async putThumbnail(streamId: string, body: ReadableStream | ArrayBuffer | ArrayBufferView): Promise<void> {
    await this.bucket.put(thumbnailKey(streamId), body, { httpMetadata: { contentType: "image/jpeg" } });
  }

  /** Answers a request for a stream's latest thumbnail. */
  serveThumbnail(streamId: string, request: Request, options: ServeOptions): Promise<Response> {
    return serveStoredObject(this.bucket, thumbnailKey(streamId), request, { contentType: "image/jpeg", ...options });
  }

  /**
   * Stores storyboard sheet `sheet` of a publish epoch, then the epoch's index naming it (sheet, tiles, grid): the
   * index is written after the sheet, so it never names a tile R2 does not hold yet.
   */
  async putStoryboardSheet(streamId: string, epoch: number, sheet: number, body: ArrayBuffer | ArrayBufferView, index: object): Promise<void> {
    await this.bucket.put(storyboardSheetKey(streamId, epoch, sheet), body, { httpMetadata: { contentType: "image/jpeg" } });
    await this.bucket.put(storyboardIndexKey(streamId, epoch), JSON.stringify(index), { httpMetadata: { contentType: "application/json" } });
  }

  /** The parsed storyboard index of a publish epoch, or null when it has none (or it is not JSON). */
  async readStoryboardIndex(streamId: string, epoch: number): Promise<unknown> {
    const object = await this.bucket.get(storyboardIndexKey(streamId, epoch));
    if (!object || !("body" in object)) return null;
    try {
      return JSON.parse(await object.text());
    } catch {
      return null;
    }
  }

  /** Answers a request for a storyboard sprite sheet (re-made while its epoch is live: not immutable). */
  serveStoryboardSheet(streamId: string, epoch: number, sheet: number, request: Request, options: ServeOptions): Promise<Response> {
    return serveStoredObject(this.bucket, storyboardSheetKey(streamId, epoch, sheet), request, { contentType: "image/jpeg", ...options });
  }

  // ---- on-demand assets -------------------------------------------------------------------------------------

  /** Stores an asset's media playlist of one rendition. */
  async putAssetMedia(kind: AssetKind, id: string, rendition: string, playlist: string): Promise<void> {
    await this.bucket.put(assetMediaKey(kind, id, rendition), playlist, { httpMetadata: { contentType: PLAYLIST_TYPE } });
  }

  /** Stores an asset's multivariant playlist (written last: once it exists, every playlist it names does). */
  async putAssetMaster(kind: AssetKind, id: string, playlist: string): Promise<void> {
    await this.bucket.put(assetMasterKey(kind, id), playlist, { httpMetadata: { contentType: PLAYLIST_TYPE } });
  }

  /** An asset's multivariant playlist (rendition null) or media playlist, or null when it is not stored. */
  async readAssetPlaylist(kind: AssetKind, id: string, rendition: string | null): Promise<string | null> {
    const object = await this.bucket.get(rendition === null ? assetMasterKey(kind, id) : assetMediaKey(kind, id, rendition));
    return object && "body" in object ? object.text() : null;
  }

  /** Answers a request for an asset's multivariant playlist (rendition null) or media playlist. */
  serveAssetPlaylist(kind: AssetKind, id: string, rendition: string | null, request: Request, options: ServeOptions): Promise<Response> {
    const key = rendition === null ? assetMasterKey(kind, id) : assetMediaKey(kind, id, rendition);
    return serveStoredObject(this.bucket, key, request, { contentType: PLAYLIST_TYPE, ...options });
  }

  /** Copies the stream's latest thumbnail as VOD `vodId`'s poster; false when the stream has none. */
  async copyThumbnailToPoster(streamId: string, vodId: string): Promise<boolean> {
    const thumbnail = await this.bucket.get(thumbnailKey(streamId));
    if (!thumbnail || !("body" in thumbnail)) return false;
    await this.bucket.put(posterKey(vodId), thumbnail.body, { httpMetadata: { contentType: "image/jpeg" } });
    return true;
  }

  /** Answers a request for a VOD's poster. */
  servePoster(vodId: string, request: Request, options: ServeOptions): Promise<Response> {
    return serveStoredObject(this.bucket, posterKey(vodId), request, { contentType: "image/jpeg", ...options });
  }

  // ---- deletion ---------------------------------------------------------------------------------------------

  /** Deletes media objects; returns how many were named. */
  async deleteMedia(addresses: Iterable<MediaAddress>): Promise<number> {
    return this.deleteKeys([...addresses].map(mediaKey));
  }

  /** Deletes every LL-HLS part of a media directory (no on-demand playlist names a part). */
  deleteParts(directory: MediaDirectory): Promise<number> {
    return this.deletePrefix(`${directoryKey(directory)}part-`);
  }

  /** Deletes the media objects and storyboards publish epochs `firstEpoch`..`lastEpoch` of a stream wrote. */
  deleteEpochs(streamId: string, firstEpoch: number, lastEpoch: number): Promise<number> {
    return this.deletePrefix(streamPrefix(streamId), (key) => {
      const epoch = addressOfKey(key)?.epoch ?? storyboardEpochOfKey(key);
      return epoch !== undefined && epoch >= firstEpoch && epoch <= lastEpoch;
    });
  }

  /** Deletes every object of a stream's live media (its thumbnail too). */
  deleteStreamMedia(streamId: string): Promise<number> {
    return this.deletePrefix(streamPrefix(streamId));
  }

  /** Deletes an asset's own objects (playlists, poster), not the media they name. */
  deleteAsset(kind: AssetKind, id: string): Promise<number> {
    return this.deletePrefix(assetPrefix(kind, id));
  }

  // ---- benchmarks -------------------------------------------------------------------------------------------

  /** Any stored object by its raw key, for the benchmark's raw-read baseline (routes/bench.ts) only. */
  async rawObject(key: string): Promise<{ body: ReadableStream; size: number } | null> {
    if (key === "") return null;
    const object = await this.bucket.get(key);
    return object && "body" in object ? { body: object.body, size: object.size } : null;
  }

  // ---- internals --------------------------------------------------------------------------------------------

  private async *listed(prefix: string): AsyncGenerator<{ key: string; size: number }> {
    let cursor: string | undefined;
    do {
      const page = await this.bucket.list({ prefix, cursor, limit: 1000 });
      yield* page.objects;
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }

  private async deletePrefix(prefix: string, keep: (key: string) => boolean = () => true): Promise<number> {
    let deleted = 0;
    let batch: string[] = [];
    for await (const object of this.listed(prefix)) {
      if (!keep(object.key)) continue;
      batch.push(object.key);
      if (batch.length === DELETE_BATCH) {
        deleted += await this.deleteKeys(batch);
        batch = [];
      }
    }
    return deleted + (await this.deleteKeys(batch));
  }

  private async deleteKeys(keys: string[]): Promise<number> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) await this.bucket.delete(keys.slice(i, i + DELETE_BATCH));
    return keys.length;
  }
}
