// The byte map of an MP4 download: which R2 object (or which part of it) every byte of the file comes from, and what
// must be done to it on the way (decrypted, decode times shifted). Built once per asset and rendition from the asset's
// playlists and stored sizes, then kept in the Cache API (download-cache.ts), so a Range request costs one cache read
// plus the reads of the bytes it asks for. The file is the first period's init segment followed by every segment in
// playlist order.
import { sameBytes } from "../../../protocol/bytes.ts";
import { AppError } from "../errors.ts";
import { type DecodeTimes, firstDecodeTimes, periodShifts, trackTimescales } from "../storage/fmp4-timing.ts";
import type { AssetKind, MediaAddress } from "../storage/media.ts";
import type { MediaStore } from "../storage/media-store.ts";
import { assetRenditions, type PlannedPeriod, type PlannedSegment, planPeriods } from "./download-plan.ts";
import { type ContentKey, decryptSegment, importContentKey, plaintextSize, tailBytes } from "./segment-decryption.ts";

/** One object of the download, at `offset` in the file, `size` bytes long there. */
export interface DownloadPiece {
  address: MediaAddress;
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

/** Where content keys come from: the Durable Object of stream `streamId` (its stub). */
export type KeyHolder = (streamId: string) => { contentKey(sessionId: string, period: number): Promise<ArrayBuffer | null> };

/** Content keys of a download, fetched from the stream's Durable Object once each. */
export class ContentKeys {
  private readonly keys = new Map<string, Promise<ContentKey>>();
  private readonly holder: KeyHolder;

  constructor(holder: KeyHolder) {
    this.holder = holder;
  }

  /** The AES key of content key `period` of `sessionId`; 409 when the stream's object no longer has it. */
  get(streamId: string, sessionId: string, period: number): Promise<ContentKey> {
    const name = `${sessionId}/${period}`;
    let key = this.keys.get(name);
    if (!key) {
      key = this.holder(streamId)
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

async function readPlaylist(store: MediaStore, request: IndexRequest, rendition: string | null, what: string): Promise<string> {
  const text = await store.readAssetPlaylist(request.kind, request.id, rendition);
  if (text === null) throw new AppError(404, "not_found", `${what} was not found`);
  return text;
}

const MISSING = "A media object of this asset is missing from storage: it cannot be downloaded.";

async function readBytes(store: MediaStore, address: MediaAddress): Promise<Uint8Array> {
  const bytes = await store.readMedia(address);
  if (!bytes) throw new AppError(409, "conflict", MISSING);
  return bytes;
}

/** The plain bytes of a planned segment (decrypted when it is encrypted). */
async function plainSegment(store: MediaStore, keys: ContentKeys, segment: PlannedSegment): Promise<Uint8Array> {
  const bytes = await readBytes(store, segment.address);
  if (!segment.key) return bytes;
  return decryptSegment(await keys.get(segment.address.streamId, segment.key.sessionId, segment.key.period), segment.msn, bytes);
}

/** The decode time shifts that start each period where the previous one ended (the first at zero). */
async function timelineShifts(store: MediaStore, keys: ContentKeys, periods: PlannedPeriod[], init: Uint8Array): Promise<DecodeTimes[]> {
  const timescales = trackTimescales(init);
  if (timescales.size === 0) throw new AppError(409, "conflict", "This asset's init segment has no tracks: it cannot be downloaded as MP4.");
  let startS = 0;
  const shifts: DecodeTimes[] = [];
  for (const period of periods) {
    const first = firstDecodeTimes(await plainSegment(store, keys, period.segments[0]!));
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

/** Builds the byte map of a download from the media store (and the stream's object, for keys). */
export async function buildDownloadIndex(store: MediaStore, request: IndexRequest, keys: ContentKeys): Promise<DownloadIndex> {
  const what = request.kind === "vod" ? "VOD" : "Clip";
  const renditions = assetRenditions(await readPlaylist(store, request, null, what));
  const rendition = request.rendition ?? renditions[0];
  if (!rendition || !renditions.includes(rendition)) {
    throw new AppError(400, "invalid_field", `rendition: this ${what.toLowerCase()} has ${renditions.map((r) => `"${r}"`).join(", ") || "no renditions"}`);
  }
  let periods: PlannedPeriod[];
  try {
    periods = planPeriods(await readPlaylist(store, request, rendition, `${what} rendition`));
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
  const initAddresses = [...new Map(periods.map((p) => [`${p.init.rendition}/${p.init.epoch}/${p.init.file}`, p.init])).values()];
  const inits = await Promise.all(initAddresses.map((address) => readBytes(store, address)));
  const init = inits[0]!;
  if (!inits.every((other) => sameBytes(other, init))) {
    throw new AppError(
      409,
      "conflict",
      "This broadcast changed its media format at a reconnect (its periods have different init segments), so it does not fit one MP4 file; play it as HLS instead.",
    );
  }
  const shifts = await timelineShifts(store, keys, periods, init);
  const sizeOf = await store.segmentSizes(segments.map((s) => s.address));

  const pieces: DownloadPiece[] = [{ address: initAddresses[0]!, offset: 0, size: init.byteLength, shift: null, decrypt: null }];
  const planned = periods.flatMap((period, index) => period.segments.map((segment) => ({ segment, index })));
  const segmentPieces = await mapLimited(planned, PARALLEL_READS, async ({ segment, index }) => {
    const address = segment.address;
    const stored = sizeOf(address);
    if (stored === undefined) throw new AppError(409, "conflict", MISSING);
    const moved = [...shifts[index]!.values()].some((ticks) => ticks !== 0n);
    if (!segment.key) return { address, offset: 0, size: stored, shift: moved ? index : null, decrypt: null };
    const content = await keys.get(segment.address.streamId, segment.key.sessionId, segment.key.period);
    const tail = await store.readMedia(address, { offset: stored - tailBytes(stored), length: tailBytes(stored) });
    if (!tail) throw new AppError(409, "conflict", MISSING);
    const size = await plaintextSize(content, segment.msn, stored, tail);
    const decrypt = { streamId: segment.address.streamId, sessionId: segment.key.sessionId, period: segment.key.period, msn: segment.msn };
    return { address, offset: 0, size, shift: moved ? index : null, decrypt };
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
