// The byte map of an MP4 download: which R2 object (or which part of it) every byte of the file comes from, and what
// must be done to it on the way (decrypted, decode times shifted). Built once per asset and rendition from the asset's
// playlists and R2 metadata, then kept in the Cache API, so a Range request costs one cache read plus the R2 reads of
// the bytes it asks for. The file is the first period's init segment followed by every segment in playlist order.
import { AppError } from "../errors.ts";
import { liveStream } from "../live/live-stream-stub.ts";
import { type DecodeTimes, firstDecodeTimes, periodShifts, trackTimescales } from "../storage/fmp4-timing.ts";
import { type AssetKind, assetMasterKey, assetMediaKey, mediaKey } from "../storage/media.ts";
import { assetRenditions, type PlannedPeriod, type PlannedSegment, planPeriods } from "./download-plan.ts";
import { decryptSegment, importContentKey, plaintextSize, tailBytes } from "./segment-decryption.ts";

/** One object of the download, at `offset` in the file, `size` bytes long there. */
export interface DownloadPiece {
  key: string;
  offset: number;
  size: number;
  /** Index into `shifts` when its decode times must be shifted (then it is read whole and rewritten). */
  shift: number | null;
  /** Its content key when it is encrypted (then it is read whole and decrypted). */
  decrypt: { streamId: string; sessionId: string; period: number; msn: number } | null;
}

/** The whole byte map. */
export interface DownloadIndex {
  rendition: string;
  size: number;
  durationS: number;
  pieces: DownloadPiece[];
  /** Per-period decode time shifts: track id -> ticks (decimal strings: JSON has no bigint). */
  shifts: Record<string, string>[];
}

/** Reads R2 calls at a time while building an index: the Workers runtime lets a request keep 6 connections open. */
const PARALLEL_READS = 6;

async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      out[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Content keys of a download, fetched from the stream's Durable Object once each. */
export class ContentKeys {
  private readonly keys = new Map<string, Promise<CryptoKey>>();
  private readonly env: Env;

  constructor(env: Env) {
    this.env = env;
  }

  /** The AES key of content key `period` of `sessionId`; 409 when the stream's object no longer has it. */
  get(streamId: string, sessionId: string, period: number): Promise<CryptoKey> {
    const name = `${sessionId}/${period}`;
    let key = this.keys.get(name);
    if (!key) {
      key = liveStream(this.env, streamId)
        .contentKey(sessionId, period)
        .then((raw) => {
          if (!raw) throw new AppError(409, "conflict", "This asset is encrypted and its keys are gone: it cannot be downloaded.");
          return importContentKey(raw);
        });
      this.keys.set(name, key);
    }
    return key;
  }
}

async function readText(bucket: R2Bucket, key: string, what: string): Promise<string> {
  const object = await bucket.get(key);
  if (!object) throw new AppError(404, "not_found", `${what} was not found`);
  return object.text();
}

async function readBytes(bucket: R2Bucket, key: string): Promise<Uint8Array> {
  const object = await bucket.get(key);
  if (!object) throw new AppError(409, "conflict", "A media object of this asset is missing from storage: it cannot be downloaded.");
  return new Uint8Array(await object.arrayBuffer());
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}

/** Stored sizes of `segments`, by R2 key: one listing per rendition directory (a publish epoch), not one HEAD each. */
async function storedSizes(bucket: R2Bucket, segments: PlannedSegment[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  const directories = new Set(segments.map((s) => mediaKey({ ...s.address, file: "seg-" })));
  for (const prefix of directories) {
    let cursor: string | undefined;
    do {
      const page = await bucket.list({ prefix, cursor });
      for (const object of page.objects) sizes.set(object.key, object.size);
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }
  return sizes;
}

/** The plain bytes of a planned segment (decrypted when it is encrypted). */
async function plainSegment(bucket: R2Bucket, keys: ContentKeys, segment: PlannedSegment): Promise<Uint8Array> {
  const bytes = await readBytes(bucket, mediaKey(segment.address));
  if (!segment.key) return bytes;
  return decryptSegment(await keys.get(segment.address.streamId, segment.key.sessionId, segment.key.period), segment.msn, bytes);
}

/** The decode time shifts that start each period where the previous one ended (the first at zero). */
async function timelineShifts(bucket: R2Bucket, keys: ContentKeys, periods: PlannedPeriod[], init: Uint8Array): Promise<DecodeTimes[]> {
  const timescales = trackTimescales(init);
  if (timescales.size === 0) throw new AppError(409, "conflict", "This asset's init segment has no tracks: it cannot be downloaded as MP4.");
  let startS = 0;
  const shifts: DecodeTimes[] = [];
  for (const period of periods) {
    const first = firstDecodeTimes(await plainSegment(bucket, keys, period.segments[0]!));
    shifts.push(periodShifts(first, timescales, startS));
    startS += period.segments.reduce((sum, s) => sum + s.duration, 0);
  }
  return shifts;
}

/** What an index needs to know about the asset. */
export interface IndexRequest {
  kind: AssetKind;
  id: string;
  /** The rendition asked for; null for the best one. */
  rendition: string | null;
  /** DOWNLOAD_MAX_SEGMENTS: a longer asset is refused (409). */
  maxSegments: number;
}

/** Builds the byte map of a download from R2 (and the stream's object, for keys). */
export async function buildDownloadIndex(env: Env, request: IndexRequest, keys: ContentKeys): Promise<DownloadIndex> {
  const bucket = env.MEDIA;
  const what = request.kind === "vod" ? "VOD" : "Clip";
  const renditions = assetRenditions(await readText(bucket, assetMasterKey(request.kind, request.id), what));
  const rendition = request.rendition ?? renditions[0];
  if (!rendition || !renditions.includes(rendition)) {
    throw new AppError(400, "invalid_field", `rendition: this ${what.toLowerCase()} has ${renditions.map((r) => `"${r}"`).join(", ") || "no renditions"}`);
  }
  let periods: PlannedPeriod[];
  try {
    periods = planPeriods(await readText(bucket, assetMediaKey(request.kind, request.id, rendition), `${what} rendition`));
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError(409, "conflict", `This ${what.toLowerCase()}'s playlist cannot be read as a download.`);
  }
  const segments = periods.flatMap((p) => p.segments);
  if (segments.length === 0) throw new AppError(409, "conflict", `This ${what.toLowerCase()} has no segments to download.`);
  if (segments.length > request.maxSegments) {
    throw new AppError(
      409,
      "conflict",
      `This ${what.toLowerCase()} has ${segments.length} segments; a download may have at most ${request.maxSegments} (DOWNLOAD_MAX_SEGMENTS).`,
    );
  }

  // One file has one init segment: periods (reconnects) join only when their encoders described the media alike.
  const initKeys = [...new Set(periods.map((p) => mediaKey(p.init)))];
  const inits = await Promise.all(initKeys.map((key) => readBytes(bucket, key)));
  const init = inits[0]!;
  if (!inits.every((other) => sameBytes(other, init))) {
    throw new AppError(
      409,
      "conflict",
      "This broadcast changed its media format at a reconnect (its periods have different init segments), so it does not fit one MP4 file; play it as HLS instead.",
    );
  }
  const shifts = await timelineShifts(bucket, keys, periods, init);
  const sizes = await storedSizes(bucket, segments);

  const pieces: DownloadPiece[] = [{ key: initKeys[0]!, offset: 0, size: init.byteLength, shift: null, decrypt: null }];
  const planned = periods.flatMap((period, index) => period.segments.map((segment) => ({ segment, index })));
  const segmentPieces = await mapLimited(planned, PARALLEL_READS, async ({ segment, index }) => {
    const key = mediaKey(segment.address);
    const stored = sizes.get(key);
    if (stored === undefined) throw new AppError(409, "conflict", "A media object of this asset is missing from storage: it cannot be downloaded.");
    const moved = [...shifts[index]!.values()].some((ticks) => ticks !== 0n);
    if (!segment.key) return { key, offset: 0, size: stored, shift: moved ? index : null, decrypt: null };
    const content = await keys.get(segment.address.streamId, segment.key.sessionId, segment.key.period);
    const tail = await bucket.get(key, { range: { offset: stored - tailBytes(stored), length: tailBytes(stored) } });
    if (!tail) throw new AppError(409, "conflict", "A media object of this asset is missing from storage: it cannot be downloaded.");
    const size = await plaintextSize(content, segment.msn, stored, new Uint8Array(await tail.arrayBuffer()));
    const decrypt = { streamId: segment.address.streamId, sessionId: segment.key.sessionId, period: segment.key.period, msn: segment.msn };
    return { key, offset: 0, size, shift: moved ? index : null, decrypt };
  });
  let offset = init.byteLength;
  for (const piece of segmentPieces) {
    pieces.push({ ...piece, offset });
    offset += piece.size;
  }
  return {
    rendition,
    size: offset,
    durationS: segments.reduce((sum, s) => sum + s.duration, 0),
    pieces,
    shifts: shifts.map((map) => Object.fromEntries([...map].map(([track, ticks]) => [String(track), ticks.toString()]))),
  };
}

/** The decode time shifts of period `index` of a built index, as the fMP4 rewriter takes them. */
export function indexShifts(index: DownloadIndex, period: number): DecodeTimes {
  return new Map(Object.entries(index.shifts[period] ?? {}).map(([track, ticks]) => [Number(track), BigInt(ticks)]));
}

const INDEX_CACHE_PATH = "/__download-index";

/**
 * The index of `request`, from the Cache API when this location built it before (assets never change once written, and
 * a deleted one is refused before this is asked: its D1 row is gone), else built and kept for a day.
 */
export async function downloadIndex(
  env: Env,
  origin: string,
  request: IndexRequest,
  keys: ContentKeys,
  waitUntil: (work: Promise<unknown>) => void,
): Promise<DownloadIndex> {
  const cache = (caches as unknown as { default: Cache }).default;
  const cacheKey = new Request(`${origin}${INDEX_CACHE_PATH}/${request.kind}/${request.id}/${request.rendition ?? "best"}`);
  const hit = await cache.match(cacheKey);
  if (hit) return (await hit.json()) as DownloadIndex;
  const index = await buildDownloadIndex(env, request, keys);
  const body = JSON.stringify(index);
  waitUntil(cache.put(cacheKey, new Response(body, { headers: { "content-type": "application/json", "cache-control": "public, max-age=86400" } })));
  return index;
}
