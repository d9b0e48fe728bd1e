// Each init a run uploads names every rendition of the run, so the edge can hold the multivariant playlist until the
// inits of all of them arrived (their upload lanes run in parallel).
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../../ingest-node/src/log.ts";
import type { InitEvent } from "../../../../ingest-node/src/packager/packager.ts";
import { CaptureClock } from "../../../../ingest-node/src/pipeline/capture-clock.ts";
import { MediaUploads } from "../../../../ingest-node/src/pipeline/media-uploads.ts";
import { MemorySink } from "../../../../ingest-node/src/upload/memory-sink.ts";
import { grant } from "./pipeline-harness.ts";

const STREAM = "0b6f3c9e-5a1d-4d7e-9f20-3c4b5a6d7e8f";

function initEvent(height: number): InitEvent {
  return { type: "init", bytes: new Uint8Array([height]), tracks: [], codecs: "avc1.42c01e", width: (height * 16) / 9, height, frameRate: 30 };
}

describe("MediaUploads init metadata", () => {
  it("declares the run's ladder in every init", async () => {
    const sink = new MemorySink();
    const uploads = new MediaUploads(grant(STREAM, 1, 0), { sink, clock: new CaptureClock(), log: createLogger("test"), onFenced: () => {} });
    const ladder = ["360p", "240p", "160p"];
    uploads.publish("240p", initEvent(240), "low", 400_000, ladder);
    uploads.publish("360p", initEvent(360), "low", 800_000, ladder);
    await uploads.settled();
    const inits = sink.objects.filter((o) => o.kind === "init");
    expect(inits.map((o) => [o.rendition, (o.meta as { ladder?: string[] }).ladder])).toEqual([
      ["240p", ladder],
      ["360p", ladder],
    ]);
  });
});
