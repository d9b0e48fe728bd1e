import { describe, expect, it } from "vitest";
import { MemorySink } from "../../../../ingest-node/src/upload/memory-sink.ts";
import { StreamFencedError } from "../../../../ingest-node/src/upload/upload-errors.ts";
import { STREAM_A, STREAM_B, bytesOf, putInterleaved, renditionPlan, segmentMeta } from "./fixtures.ts";

describe("MemorySink", () => {
  it("keeps every object in put order, with a copy of its bytes", async () => {
    const sink = new MemorySink();
    const plans = [renditionPlan(STREAM_A, "360p", { segments: 2, parts: 2 }), renditionPlan(STREAM_B, "160p", { segments: 1 })];
    await putInterleaved(sink, plans);
    await sink.putThumbnail(STREAM_A, { epoch: 1 }, bytesOf("jpeg"));
    await sink.flush(STREAM_A);

    expect(sink.objectsOf(STREAM_A, "360p").map((object) => object.kind)).toEqual(["init", "part", "part", "segment", "part", "part", "segment"]);
    expect(sink.objectsOf(STREAM_B)).toHaveLength(2);
    expect(sink.objectsOf(STREAM_A)).toHaveLength(8);
    expect(sink.backlog()).toMatchObject({ uploadedObjects: 10, memoryObjects: 0, failedObjects: 0 });
    expect(sink.pending(STREAM_A)).toEqual({ objects: 0, bytes: 0, dropped: 0 });

    const bytes = bytesOf("mutable");
    await sink.putSegment(STREAM_B, "160p", segmentMeta(1, 0), bytes);
    bytes.fill(0);
    expect(sink.objects.at(-1)?.bytes).toEqual(bytesOf("mutable"));
  });

  it("fences a stream like a 409 would: its epoch is refused, a newer one and other streams are not", async () => {
    const sink = new MemorySink();
    sink.fence(STREAM_A, 2);
    await expect(sink.putSegment(STREAM_A, "360p", segmentMeta(5, 0, 2), bytesOf("x"))).rejects.toBeInstanceOf(StreamFencedError);
    await expect(sink.flush(STREAM_A)).rejects.toBeInstanceOf(StreamFencedError);
    await sink.putSegment(STREAM_A, "360p", segmentMeta(5, 0, 3), bytesOf("x"));
    await sink.flush(STREAM_A);
    await sink.putSegment(STREAM_B, "360p", segmentMeta(5, 0, 2), bytesOf("x"));
    expect(sink.objects).toHaveLength(2);
    await sink.close();
    await expect(sink.putThumbnail(STREAM_B, { epoch: 1 }, bytesOf("x"))).rejects.toMatchObject({ code: "uploader_closed" });
  });
});
