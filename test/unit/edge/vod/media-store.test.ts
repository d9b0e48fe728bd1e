// The VOD and clip code on the media store, run on the in-memory bucket: writing an asset's playlists, building its
// download's byte map from them, composing a segment from parts, and releasing a finished broadcast's media from its
// recording (what stays named by a clip stays; the last asset takes every object of the broadcast's epochs).
import { describe, expect, it } from "vitest";
import { mediaFile } from "../../../../edge/src/storage/media.ts";
import { MediaStore } from "../../../../edge/src/storage/media-store.ts";
import { MemoryBucket } from "../../../../edge/src/storage/memory-bucket.ts";
import { writeAsset, writeAssetPages } from "../../../../edge/src/vod/asset-writer.ts";
import { buildDownloadIndex, ContentKeys } from "../../../../edge/src/vod/download-index.ts";
import { namedByRanges, releaseRecordedMedia } from "../../../../edge/src/vod/media-release.ts";
import { type RecordedSegment, recordingPages } from "../../../../edge/src/vod/recorded-segment.ts";
import { initSegment, mediaSegment } from "../../../edge/fmp4-fixture.ts";

const STREAM = "0b8c2d1e-3f4a-4b5c-8d6e-7f8091a2b3c4";
const OTHER_STREAM = "1c9d3e2f-4a5b-4c6d-9e7f-8091a2b3c4d5";
const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);
const RENDITIONS = ["360p", "240p"].map((name, i) => ({
  name,
  codecs: "avc1.64001f,mp4a.40.2",
  width: 640 >> i,
  height: 360 >> i,
  bandwidth: 800_000 >> i,
  frameRate: 30,
}));

/** msns 0-3 in epoch 1, 4-5 in epoch 2 (a reconnect), both renditions, 2 s each. */
function recording(): RecordedSegment[] {
  return RENDITIONS.flatMap((r) =>
    [0, 1, 2, 3, 4, 5].map((msn) => ({
      rendition: r.name,
      msn,
      epoch: msn < 4 ? 1 : 2,
      duration: 2,
      programDateTime: new Date(T0 + msn * 2000).toISOString(),
    })),
  );
}

/** Stores every object the recording names, with two parts per segment, plus another stream's segment. */
async function storedBroadcast(store: MediaStore, segments: RecordedSegment[]): Promise<void> {
  for (const s of segments) {
    const directory = { streamId: STREAM, rendition: s.rendition, epoch: s.epoch };
    await store.putMedia({ ...directory, file: mediaFile.init() }, initSegment());
    await store.putMedia({ ...directory, file: mediaFile.segment(s.msn) }, mediaSegment(s.duration, s.msn));
    for (const part of [0, 1]) await store.putMedia({ ...directory, file: mediaFile.part(s.msn, part) }, new Uint8Array([s.msn, part]));
  }
  await store.putMedia({ streamId: OTHER_STREAM, rendition: "360p", epoch: 1, file: mediaFile.segment(0) }, new Uint8Array(4));
  await store.putThumbnail(STREAM, new Uint8Array([0xff, 0xd8]));
}

/** A recording holder's page reader over `segments` (sorted as the Durable Object sorts them). */
function pagesOf(segments: RecordedSegment[], limit: number) {
  const sorted = [...segments].sort((a, b) => a.rendition.localeCompare(b.rendition) || a.msn - b.msn);
  return recordingPages(async (after, max) => {
    const from = after === null ? 0 : sorted.findIndex((s) => s.rendition > after.rendition || (s.rendition === after.rendition && s.msn > after.msn));
    return from < 0 ? [] : sorted.slice(from, from + max);
  }, limit);
}

const segmentFiles = (bucket: MemoryBucket, rendition: string) =>
  bucket.keys().filter((k) => k.startsWith(`live/${STREAM}/${rendition}/`) && k.includes("/seg-"));

describe("MediaStore on the in-memory bucket", () => {
  it("writes an asset's playlists and builds its MP4 download from them", async () => {
    const bucket = new MemoryBucket();
    const store = new MediaStore(bucket);
    await storedBroadcast(store, recording());
    const written = await writeAsset(store, "vod", "v1", STREAM, RENDITIONS, recording());
    expect(written).toMatchObject({ segmentCount: 6, durationS: 12, startedAt: new Date(T0).toISOString() });
    expect(bucket.keys().filter((k) => k.startsWith("vod/v1/"))).toEqual(["vod/v1/240p/index.m3u8", "vod/v1/360p/index.m3u8", "vod/v1/master.m3u8"]);
    expect(await store.readAssetPlaylist("vod", "v1", "360p")).toContain(`/live/${STREAM}/360p/2/seg-4.m4s`);

    const keys = new ContentKeys(() => {
      throw new Error("a clear asset asks for no key");
    });
    const index = await buildDownloadIndex(store, { kind: "vod", id: "v1", rendition: null, maxSegments: 100 }, keys);
    expect(index.rendition).toBe("360p");
    expect(index.pieces.map((p) => `${p.address.epoch}/${p.address.file}`)).toEqual([
      "1/init.mp4",
      ...[0, 1, 2, 3].map((m) => `1/seg-${m}.m4s`),
      "2/seg-4.m4s",
      "2/seg-5.m4s",
    ]);
    const sizes = await Promise.all(index.pieces.map(async (p) => (await store.readMedia(p.address))!.byteLength));
    expect(index.size).toBe(sizes.reduce((a, b) => a + b, 0));
    // The reconnect's period starts where the first ended (8 s in), in each track's timescale.
    expect(index.shifts[1]).not.toEqual(index.shifts[0]);
    await expect(buildDownloadIndex(store, { kind: "vod", id: "v1", rendition: null, maxSegments: 5 }, keys)).rejects.toThrow(/at most 5/);
  });

  it("writes a VOD a page of the recording at a time exactly as all at once, leaving out renditions it was not asked for", async () => {
    const whole = new MemoryBucket();
    await writeAsset(new MediaStore(whole), "vod", "v1", STREAM, RENDITIONS, recording());
    const paged = new MemoryBucket();
    const extra = recording().map((s) => ({ ...s, rendition: "1080p" }));
    // Pages of 5 cut across renditions, as the stream object's recording pages them (by rendition, then msn).
    const written = await writeAssetPages(new MediaStore(paged), "vod", "v1", STREAM, RENDITIONS, pagesOf([...recording(), ...extra], 5));
    expect(written.segmentCount).toBe(6);
    expect(paged.keys()).toEqual(whole.keys());
    for (const key of whole.keys()) expect(await (await paged.get(key))!.text()).toBe(await (await whole.get(key))!.text());
  });

  it("composes a segment from its stored parts, or says one is missing", async () => {
    const store = new MediaStore(new MemoryBucket());
    const directory = { streamId: STREAM, rendition: "360p", epoch: 3 };
    for (const part of [0, 1, 2]) await store.putMedia({ ...directory, file: mediaFile.part(7, part) }, new Uint8Array([part, part]));
    expect(await store.composeSegment(directory, 7, 3)).toEqual(new Uint8Array([0, 0, 1, 1, 2, 2]));
    expect(await store.composeSegment(directory, 7, 4)).toBeNull();
  });

  it("deletes one broadcast's publish epochs and nothing else", async () => {
    const bucket = new MemoryBucket();
    const store = new MediaStore(bucket);
    await storedBroadcast(store, recording());
    await store.deleteEpochs(STREAM, 2, 2);
    expect(bucket.keys().filter((k) => k.includes("/2/"))).toEqual([]);
    expect(segmentFiles(bucket, "360p")).toHaveLength(4);
    expect(bucket.keys()).toContain(`live/${STREAM}/thumbnail.jpg`);
  });
});

describe("releasing a finished broadcast's media from its recording", () => {
  it("keeps what a clip still names (segments, their inits) and takes the rest with every part", async () => {
    const bucket = new MemoryBucket();
    const store = new MediaStore(bucket);
    await storedBroadcast(store, recording());
    // A clip of msn 1-2 (2 s to 6 s).
    const clip = { startMs: T0 + 2000, durationS: 4 };
    const released = await releaseRecordedMedia(store, STREAM, pagesOf(recording(), 3), (s) => namedByRanges(s, [clip]));
    expect(released).toMatchObject({ segments: 8, epochs: { first: 1, last: 2 } });
    for (const rendition of ["360p", "240p"]) {
      expect(segmentFiles(bucket, rendition)).toEqual([1, 2].map((m) => `live/${STREAM}/${rendition}/1/seg-${m}.m4s`));
      expect(bucket.keys()).toContain(`live/${STREAM}/${rendition}/1/init.mp4`);
      expect(bucket.keys()).not.toContain(`live/${STREAM}/${rendition}/2/init.mp4`);
    }
    expect(bucket.keys().filter((k) => k.includes("/part-"))).toEqual([]);
    expect(bucket.keys()).toContain(`live/${OTHER_STREAM}/360p/1/seg-0.m4s`);
  });

  it("a clip's range names the segments it was cut from, not its neighbours (a frame's skew between renditions allowed)", () => {
    const segment = (msn: number, skewMs = 0): RecordedSegment => ({
      rendition: "360p",
      msn,
      epoch: 1,
      duration: 2,
      programDateTime: new Date(T0 + msn * 2000 + skewMs).toISOString(),
    });
    const range = [{ startMs: T0 + 2000, durationS: 2 }];
    expect(namedByRanges(segment(1), range)).toBe(true);
    expect(namedByRanges(segment(1, 33), range)).toBe(true);
    expect(namedByRanges(segment(0), range)).toBe(false);
    expect(namedByRanges(segment(2), range)).toBe(false);
    expect(namedByRanges(segment(2, -33), range)).toBe(false);
  });

  it("releases everything when nothing is kept, reading the recording a page at a time", async () => {
    const bucket = new MemoryBucket();
    const store = new MediaStore(bucket);
    await storedBroadcast(store, recording());
    let pages = 0;
    const counted = (async function* () {
      for await (const page of pagesOf(recording(), 5)) {
        expect(page.length).toBeLessThanOrEqual(5);
        pages += 1;
        yield page;
      }
    })();
    await releaseRecordedMedia(store, STREAM, counted, () => false);
    expect(pages).toBe(3);
    expect(bucket.keys().filter((k) => k.startsWith(`live/${STREAM}/`) && !k.endsWith("thumbnail.jpg"))).toEqual([]);
  });

  it("fails loudly when the bucket does, and a retry finishes the release", async () => {
    const bucket = new MemoryBucket();
    const store = new MediaStore(bucket);
    await storedBroadcast(store, recording());
    bucket.failNext("delete");
    await expect(releaseRecordedMedia(store, STREAM, pagesOf(recording(), 100), () => false)).rejects.toThrow(/injected/);
    await releaseRecordedMedia(store, STREAM, pagesOf(recording(), 100), () => false);
    expect(bucket.keys().filter((k) => k.startsWith(`live/${STREAM}/`) && k.endsWith(".m4s"))).toEqual([]);
  });
});
