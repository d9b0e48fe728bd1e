import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { InitInfo } from "../../../../ingest-node/src/packager/packager.ts";
import {
  alignWithSource,
  defaultDurations,
  firstDecodeTimes,
  moveDecodeTimes,
  rescaleTicks,
  trackSpans,
} from "../../../../ingest-node/src/worker/decode-times.ts";
import { writeFragment } from "../../../../ingest-node/src/remux/cmaf-fragment.ts";
import { bFrameSource, packageFile, smallRungJobArgs } from "./b-frame-source.ts";

describe("decode times", () => {
  it("reads each track's first tfdt and moves a segment's fragments onto new starts, keeping their spacing", () => {
    const sample = (decodeTime: number) => ({ decodeTime, duration: 100, compositionOffset: 0, sync: true, data: new Uint8Array(4) });
    // The remuxer's tracks: video 1, audio 2.
    const segment = new Uint8Array([
      ...writeFragment(1, { video: [sample(0), sample(100)], audio: [sample(10)] }),
      ...writeFragment(2, { video: [sample(200)], audio: [] }),
    ]);
    expect(firstDecodeTimes(segment)).toEqual(
      new Map([
        [1, 0n],
        [2, 10n],
      ]),
    );
    moveDecodeTimes(
      segment,
      new Map([
        [1, 90_000n],
        [2, 48_000n],
      ]),
    );
    expect(firstDecodeTimes(segment)).toEqual(
      new Map([
        [1, 90_000n],
        [2, 48_000n],
      ]),
    );
    // The second fragment of track 1 keeps its 200 ticks from the first.
    const tfdts: bigint[] = [];
    const view = new DataView(segment.buffer);
    for (let at = 0; at + 20 <= segment.length; at++) {
      if (String.fromCharCode(...segment.subarray(at + 4, at + 8)) === "tfdt") tfdts.push(view.getBigUint64(at + 12));
    }
    expect(tfdts).toEqual([90_000n, 48_000n, 90_200n]);
    expect(rescaleTicks(90_000n, 90_000, 1000)).toBe(1000n);
  });
});

/** The trun versions in `bytes` of track `trackId`'s fragments. */
function trunVersions(bytes: Uint8Array, trackId: number): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const versions: number[] = [];
  let track = -1;
  for (let at = 0; at + 16 <= bytes.length; at++) {
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (type === "tfhd") track = view.getUint32(at + 12);
    if (type === "trun" && track === trackId) versions.push(bytes[at + 8]!);
  }
  return versions;
}

// Real FFmpeg bytes: a source with B-frames (positive composition offsets, as a publisher's x264 sends), cut into
// 2 s segments by the node's packager; each segment encoded alone by a job's arguments, as two workers would.
describe("pool segments with B-frames, aligned with the source", () => {
  it("show each rung segment's first frame when the source's is shown, and butt together in decode and presentation time", () => {
    const dir = mkdtempSync(join(tmpdir(), "edgecast-align-"));
    try {
      const source = bFrameSource(dir);
      expect(source.segments).toHaveLength(2);
      const videoOf = (init: InitInfo) => init.tracks.find((t) => t.handler === "vide")!;
      const audioOf = (init: InitInfo) => init.tracks.find((t) => t.handler === "soun")!;
      const sourceVideo = videoOf(source.init);

      const rung = source.segments.map((segment, k) => {
        const input = join(dir, `in${k}.mp4`);
        const output = join(dir, `out${k}.mp4`);
        writeFileSync(input, new Uint8Array([...source.init.bytes, ...segment.bytes]));
        const args = smallRungJobArgs(input, output, sourceVideo.timescale);
        execFileSync("ffmpeg", args, { stdio: ["ignore", "ignore", "ignore"] });
        const frames = execFileSync("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pict_type", "-of", "csv=p=0", output]);
        expect(frames.toString(), "the rung has B-frames").toContain("B");
        const encoded = packageFile(readFileSync(output));
        expect(encoded.segments).toHaveLength(1);
        const bytes = encoded.segments[0]!.bytes;
        alignWithSource(bytes, encoded.init, { init: source.init, segment: segment.bytes });
        return { init: encoded.init, bytes };
      });

      for (const [k, segment] of source.segments.entries()) {
        const sourceSpans = trackSpans(segment.bytes, defaultDurations(source.init));
        const { init, bytes } = rung[k]!;
        const spans = trackSpans(bytes, defaultDurations(init));
        const [video, audio] = [spans.get(videoOf(init).id)!, spans.get(audioOf(init).id)!];
        // The source's first frame is shown after its decode time (positive offsets); the rung's IDR at its decode time
        // (trun version 1, negative offsets for the frames after it).
        expect(sourceSpans.get(sourceVideo.id)!.shownFrom).toBeGreaterThan(firstDecodeTimes(segment.bytes).get(sourceVideo.id)!);
        expect(new Set(trunVersions(bytes, videoOf(init).id))).toEqual(new Set([1]));
        expect(video.shownFrom).toBe(firstDecodeTimes(bytes).get(videoOf(init).id));
        // Shown when the source's video is, and the copied audio starts where the source's does: in step.
        expect(video.shownFrom).toBe(sourceSpans.get(sourceVideo.id)!.shownFrom);
        expect(audio.shownFrom).toBe(sourceSpans.get(audioOf(source.init).id)!.shownFrom);
      }
      // The second segment (another worker's) starts where the first ends, in both timelines.
      const [first, second] = rung.map(({ init, bytes }) => trackSpans(bytes, defaultDurations(init)).get(videoOf(init).id)!);
      expect(second!.shownFrom).toBe(first!.shownUntil);
      expect(second!.shownFrom).toBe(first!.decodedUntil);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
