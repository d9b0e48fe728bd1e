// The key scheme of storage/media.ts read back: what it writes (keys, playback paths, live playlists' relative URIs)
// parses to what it was made from, so no other folder needs to know the scheme to read one.
import { describe, expect, it } from "vitest";
import {
  addressOfKey,
  addressOfUrlPath,
  epochOfRelativeMediaUri,
  type MediaAddress,
  partOfFile,
  segmentMsnOfFile,
  mediaFile,
  mediaKey,
  mediaUrlPath,
  relativeMediaUri,
} from "../../../../edge/src/storage/media.ts";

const ADDRESS: MediaAddress = { streamId: "0f5c2a8e-1b7d-4c3e-9a6f-2d4b8e1c7a90", rendition: "360p", epoch: 12, file: mediaFile.part(40, 3) };

describe("media key scheme", () => {
  it("reads back the address of a key and of a playback path", () => {
    expect(addressOfKey(mediaKey(ADDRESS))).toEqual(ADDRESS);
    expect(addressOfUrlPath(mediaUrlPath(ADDRESS))).toEqual(ADDRESS);
  });

  it("reads back the epoch of a live playlist's relative URI, with or without a query", () => {
    expect(epochOfRelativeMediaUri(relativeMediaUri(12, mediaFile.segment(40)))).toBe(12);
    expect(epochOfRelativeMediaUri(`${relativeMediaUri(7, mediaFile.init())}?token=abc`)).toBe(7);
    expect(epochOfRelativeMediaUri("seg-40.m4s")).toBeNull();
    expect(epochOfRelativeMediaUri("x/seg-40.m4s")).toBeNull();
  });

  it("reads a segment's msn and a part's msn and index from their file names, and nothing else", () => {
    expect(segmentMsnOfFile(mediaFile.segment(40))).toBe(40);
    expect(partOfFile(mediaFile.part(10, 2))).toEqual({ msn: 10, part: 2 });
    for (const other of [mediaFile.init(), mediaFile.part(40, 0)]) expect(segmentMsnOfFile(other)).toBeNull();
    for (const other of [mediaFile.init(), mediaFile.segment(10)]) expect(partOfFile(other)).toBeNull();
  });
});
