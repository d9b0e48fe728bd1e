// The R2 key scheme, in one place (only the storage module names keys). Media objects live under the publish epoch
// that produced them, so a node that lost its lease can never overwrite an object another node's publish listed.
import { isRenditionName, isStreamId } from "../../../protocol/names.ts";

/** A media object's place: stream, rendition, publish epoch and file name. */
export interface MediaAddress {
  streamId: string;
  rendition: string;
  epoch: number;
  file: string;
}

/** One rendition's media of one publish epoch (the directory its init segment, parts and segments share). */
export type MediaDirectory = Omit<MediaAddress, "file">;

/** File names of the three kinds of media object. */
export const mediaFile = {
  init: () => "init.mp4",
  segment: (msn: number) => `seg-${msn}.m4s`,
  part: (msn: number, part: number) => `part-${msn}.${part}.m4s`,
};

const FILE_PATTERN = /^(?:init\.mp4|seg-\d{1,10}\.m4s|part-\d{1,10}\.\d{1,4}\.m4s)$/;
const SEGMENT_FILE = /^seg-(\d{1,10})\.m4s$/;
const PART_FILE = /^part-(\d{1,10})\.(\d{1,4})\.m4s$/;

/** The msn of a segment's file name (as mediaFile.segment writes it), or null for any other file. */
export function segmentMsnOfFile(file: string): number | null {
  const match = SEGMENT_FILE.exec(file);
  return match ? Number(match[1]) : null;
}

/** The msn and part index of a part's file name (as mediaFile.part writes it), or null for any other file. */
export function partOfFile(file: string): { msn: number; part: number } | null {
  const match = PART_FILE.exec(file);
  return match ? { msn: Number(match[1]), part: Number(match[2]) } : null;
}
const EPOCH_PATTERN = /^\d{1,9}$/;
const LIVE_ROOT = "live";

/** The R2 key of a media object. */
export function mediaKey(address: MediaAddress): string {
  return `${directoryKey(address)}${address.file}`;
}

/** The key prefix of a media directory (ends in `/`). */
export function directoryKey(directory: MediaDirectory): string {
  return `${LIVE_ROOT}/${directory.streamId}/${directory.rendition}/${directory.epoch}/`;
}

/** The media address of R2 key `key`, or null when the key is not a media object's (a thumbnail, say). */
export function addressOfKey(key: string): MediaAddress | null {
  const parts = key.split("/");
  if (parts.length !== 5 || parts[0] !== LIVE_ROOT) return null;
  return parseMediaAddress(parts[1]!, parts[2]!, parts[3]!, parts[4]!);
}

/** The R2 key of a stream's latest thumbnail. */
export function thumbnailKey(streamId: string): string {
  return `${LIVE_ROOT}/${streamId}/thumbnail.jpg`;
}

/** The key prefix of a stream's storyboard for one publish epoch ("_" starts no rendition name: no collision). */
function storyboardPrefix(streamId: string, epoch: number): string {
  return `${LIVE_ROOT}/${streamId}/_storyboard/${epoch}/`;
}

/** The R2 key of storyboard sprite sheet `sheet` of a stream's publish `epoch`. */
export function storyboardSheetKey(streamId: string, epoch: number, sheet: number): string {
  return `${storyboardPrefix(streamId, epoch)}sheet-${sheet}.jpg`;
}

/** The publish epoch of a storyboard object's key (a sheet or the index), or undefined when the key is not one. */
export function storyboardEpochOfKey(key: string): number | undefined {
  const parts = key.split("/");
  if (parts.length !== 5 || parts[0] !== LIVE_ROOT || parts[2] !== "_storyboard" || !EPOCH_PATTERN.test(parts[3]!)) return undefined;
  return Number(parts[3]);
}

/** The R2 key of the JSON index of a stream's storyboard for publish `epoch` (what its sheets hold). */
export function storyboardIndexKey(streamId: string, epoch: number): string {
  return `${storyboardPrefix(streamId, epoch)}index.json`;
}

/** The key prefix holding every object of a stream (for deletion). */
export function streamPrefix(streamId: string): string {
  return `${LIVE_ROOT}/${streamId}/`;
}

/** Validates names from a playback URL; null when any part is not a name this scheme produces. */
export function parseMediaAddress(streamId: string, rendition: string, epoch: string, file: string): MediaAddress | null {
  if (!isStreamId(streamId) || !isRenditionName(rendition) || !EPOCH_PATTERN.test(epoch) || !FILE_PATTERN.test(file)) {
    return null;
  }
  return { streamId, rendition, epoch: Number(epoch), file };
}

/** The content type of a media file. */
export function mediaContentType(file: string): string {
  return file.endsWith(".mp4") ? "video/mp4" : "video/iso.segment";
}

/** The playback URL path of a media object (what VOD and clip playlists name): `/` and its key. */
export function mediaUrlPath(address: MediaAddress): string {
  return `/${mediaKey(address)}`;
}

/** The URI of a media object relative to its rendition's live media playlist (`/live/<id>/<rendition>/index.m3u8`). */
export function relativeMediaUri(epoch: number, file: string): string {
  return `${epoch}/${file}`;
}

/** The publish epoch a live playlist's relative media URI names (as relativeMediaUri writes it), or null. */
export function epochOfRelativeMediaUri(uri: string): number | null {
  const epoch = Number(uri.slice(0, uri.indexOf("/")));
  return uri.includes("/") && Number.isInteger(epoch) && epoch >= 0 ? epoch : null;
}

/** The media address a playback URL path names (as mediaUrlPath writes it), or null. */
export function addressOfUrlPath(path: string): MediaAddress | null {
  return path.startsWith(`/${LIVE_ROOT}/`) ? addressOfKey(path.slice(1)) : null;
}

/** What kind of on-demand asset a playlist belongs to. */
export type AssetKind = "vod" | "clips";

/** The R2 key of an on-demand asset's multivariant playlist. */
export function assetMasterKey(kind: AssetKind, id: string): string {
  return `${kind}/${id}/master.m3u8`;
}

/** The R2 key of an on-demand asset's media playlist for one rendition. */
export function assetMediaKey(kind: AssetKind, id: string, rendition: string): string {
  return `${kind}/${id}/${rendition}/index.m3u8`;
}

/** The R2 key of a VOD's poster image. */
export function posterKey(vodId: string): string {
  return `vod/${vodId}/poster.jpg`;
}

/** The key prefix holding an on-demand asset's own objects (playlists, poster). */
export function assetPrefix(kind: AssetKind, id: string): string {
  return `${kind}/${id}/`;
}
