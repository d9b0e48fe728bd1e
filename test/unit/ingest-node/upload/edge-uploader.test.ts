// The edge uploader against a real local HTTP server: headers, order, idempotency, fencing, rejections, thumbnails.
import { describe, expect, it } from "vitest";
import { ingestPaths } from "../../../../protocol/ingest-paths.ts";
import { EdgeRejectedError, StreamFencedError } from "../../../../ingest-node/src/upload/upload-errors.ts";
import type { RecordedRequest } from "./fake-edge.ts";
import {
  NODE,
  STREAM_A,
  STREAM_B,
  ackedInPlan,
  bytesOf,
  initMeta,
  partMeta,
  putInterleaved,
  renditionPlan,
  seededRandom,
  segmentMeta,
  useUploaderTestEnv,
} from "./fixtures.ts";

const env = useUploaderTestEnv();

function metaOf(request: RecordedRequest): unknown {
  return JSON.parse(String(request.headers["x-media-meta"]));
}

function msnOf(path: string): number | null {
  const match = /\/(?:parts|segments)\/(\d+)/.exec(path);
  return match ? Number(match[1]) : null;
}

describe("EdgeUploader", () => {
  it("PUTs each kind of object to its path with the credential, node id, content type and metadata", { timeout: 5_000 }, async () => {
    const { uploader: up } = env.uploader();
    const init = bytesOf("init");
    const part = bytesOf("part");
    const segment = bytesOf("segment");
    const thumb = bytesOf("jpeg");
    await up.putInit(STREAM_A, "360p", initMeta(3), init);
    await up.putPart(STREAM_A, "360p", partMeta(7, 0, 3), part);
    await up.putSegment(STREAM_A, "360p", segmentMeta(7, 1, 3), segment);
    await up.putThumbnail(STREAM_A, { epoch: 3 }, thumb);
    await up.flush(STREAM_A);

    const expected = [
      { path: ingestPaths.init(STREAM_A, "360p"), type: "video/mp4", body: init, meta: initMeta(3) },
      { path: ingestPaths.part(STREAM_A, "360p", 7, 0), type: "video/mp4", body: part, meta: partMeta(7, 0, 3) },
      { path: ingestPaths.segment(STREAM_A, "360p", 7), type: "video/mp4", body: segment, meta: segmentMeta(7, 1, 3) },
      { path: ingestPaths.thumbnail(STREAM_A), type: "image/jpeg", body: thumb, meta: { epoch: 3 } },
    ];
    expect(env.edge.requests).toHaveLength(4);
    for (const want of expected) {
      const [request] = env.edge.requestsFor(want.path);
      expect(request, want.path).toBeDefined();
      if (!request) continue;
      expect(request.method).toBe("PUT");
      expect(request.headers.authorization).toBe(`Bearer ${NODE.credential}`);
      expect(request.headers["x-node-id"]).toBe(NODE.nodeId);
      expect(request.headers["content-type"]).toBe(want.type);
      expect(new Uint8Array(request.body)).toEqual(want.body);
      expect(metaOf(request)).toEqual(want.meta);
    }
    expect(up.backlog()).toMatchObject({ uploadedObjects: 4, memoryObjects: 0, diskObjects: 0, failedObjects: 0 });
  });

  it("sends a from_parts segment without its bytes, and with them when the edge answers 422 (a part is missing)", { timeout: 5_000 }, async () => {
    const { uploader: up } = env.uploader();
    const composed = { ...segmentMeta(4, 2), from_parts: true };
    env.edge.respond = (request) =>
      msnOf(request.path) === 5 && request.body.byteLength === 0 ? { kind: "status", status: 422, detail: "parts missing" } : { kind: "store" };
    await up.putSegment(STREAM_A, "360p", composed, bytesOf("segment 4"));
    await up.putSegment(STREAM_A, "360p", { ...segmentMeta(5, 2), from_parts: true }, bytesOf("segment 5"));
    await up.flush(STREAM_A);
    const [four] = env.edge.requestsFor(ingestPaths.segment(STREAM_A, "360p", 4));
    expect(four!.body.byteLength).toBe(0);
    expect(metaOf(four!)).toEqual(composed);
    const five = env.edge.requestsFor(ingestPaths.segment(STREAM_A, "360p", 5));
    expect(five.map((r) => r.body.byteLength)).toEqual([0, bytesOf("segment 5").byteLength]);
    expect(metaOf(five[1]!)).toEqual(segmentMeta(5, 2));
    expect(new Uint8Array(five[1]!.body)).toEqual(bytesOf("segment 5"));
    // Only segment 5's bytes went over the wire.
    expect(up.backlog()).toMatchObject({ uploadedObjects: 2, uploadedBytes: bytesOf("segment 5").byteLength, failedObjects: 0 });
  });

  it("keeps each rendition in order under random failures, never sending N+1 before N is acknowledged", { timeout: 20_000 }, async () => {
    const random = seededRandom(20261125);
    env.edge.respond = (request) => {
      const roll = random();
      if (roll < 0.12) return { kind: "status", status: 503 };
      if (roll < 0.2) return { kind: "status", status: 500 };
      if (roll < 0.24) return { kind: "status", status: 429, retryAfter: "0" };
      if (roll < 0.28) return { kind: "reset" };
      if (roll < 0.31) return { kind: "hang", store: random() < 0.5 };
      return request.method === "PUT" ? { kind: "store" } : { kind: "status", status: 404 };
    };
    const { uploader: up } = env.uploader({ concurrency: 3, requestTimeoutMs: 150 });
    const plans = [
      renditionPlan(STREAM_A, "360p", { segments: 6, parts: 3 }),
      renditionPlan(STREAM_A, "240p", { segments: 6, parts: 3 }),
      renditionPlan(STREAM_B, "160p", { segments: 6, parts: 3 }),
    ];
    await putInterleaved(up, plans);
    await Promise.all([up.flush(STREAM_A), up.flush(STREAM_B)]);

    const acked = env.edge.ackedPaths();
    for (const plan of plans) {
      expect(ackedInPlan(acked, plan)).toEqual(plan.map((item) => item.path));
      for (const item of plan) expect(new Uint8Array(env.edge.objects.get(item.path) ?? [])).toEqual(item.bytes);
      // Replay the edge's log: a request for object k may only arrive once object k-1 was acknowledged.
      const position = new Map(plan.map((item, index) => [item.path, index]));
      let ackedUpTo = -1;
      for (const event of env.edge.events) {
        const index = position.get(event.path);
        if (index === undefined) continue;
        if (event.type === "recv") expect(index, `${event.path} sent early`).toBeLessThanOrEqual(ackedUpTo + 1);
        else ackedUpTo = Math.max(ackedUpTo, index);
      }
    }
    expect(env.edge.conflicts).toEqual([]);
    const metrics = up.backlog();
    expect(metrics.retries).toBeGreaterThan(5);
    expect(metrics).toMatchObject({ uploadedObjects: 75, failedObjects: 0, memoryObjects: 0, memoryBytes: 0, diskObjects: 0 });
  });

  it("runs renditions and streams in parallel, never more requests at once than the concurrency bound", { timeout: 5_000 }, async () => {
    env.edge.respond = () => ({ kind: "store", delayMs: 40 });
    const { uploader: up } = env.uploader({ concurrency: 3 });
    const plans = [STREAM_A, STREAM_B].flatMap((stream) => ["360p", "240p", "160p"].map((rendition) => renditionPlan(stream, rendition, { segments: 3 })));
    await putInterleaved(up, plans);
    await Promise.all([up.flush(STREAM_A), up.flush(STREAM_B)]);
    expect(env.edge.maxInFlight).toBe(3);
    for (const plan of plans) expect(ackedInPlan(env.edge.ackedPaths(), plan)).toEqual(plan.map((item) => item.path));
  });

  it("re-PUTs the same bytes when an answer is lost (idempotent), and counts the object once", { timeout: 5_000 }, async () => {
    const target = ingestPaths.segment(STREAM_A, "360p", 1);
    env.edge.respond = (request) => (request.path === target && env.edge.requestsFor(target).length === 0 ? { kind: "hang", store: true } : { kind: "store" });
    const { uploader: up } = env.uploader({ requestTimeoutMs: 200 });
    const plan = renditionPlan(STREAM_A, "360p", { segments: 3 });
    await putInterleaved(up, [plan]);
    await up.flush(STREAM_A);

    const attempts = env.edge.requestsFor(target);
    expect(attempts).toHaveLength(2);
    expect(attempts[0]?.body.equals(attempts[1]?.body ?? Buffer.alloc(0))).toBe(true);
    expect(metaOf(attempts[0] as RecordedRequest)).toEqual(metaOf(attempts[1] as RecordedRequest));
    expect(env.edge.conflicts).toEqual([]);
    expect(ackedInPlan(env.edge.ackedPaths(), plan)).toEqual(plan.map((item) => item.path));
    expect(up.backlog()).toMatchObject({ uploadedObjects: 4, retries: 1 });

    // The pipeline putting the same object again is harmless too.
    const again = plan[2];
    await again?.put(up);
    await up.flush(STREAM_A);
    expect(env.edge.requestsFor(target)).toHaveLength(3);
    expect(env.edge.conflicts).toEqual([]);
  });

  it("drops an object the edge rejects (400/401/413), logs the detail and counts it, then goes on", { timeout: 5_000 }, async () => {
    const badPart = ingestPaths.part(STREAM_A, "360p", 1, 1);
    const bigSegment = ingestPaths.segment(STREAM_A, "360p", 2);
    const thumb = ingestPaths.thumbnail(STREAM_A);
    env.edge.respond = (request) => {
      if (request.path === badPart) return { kind: "status", status: 400, detail: "part duration exceeds target" };
      if (request.path === bigSegment) return { kind: "status", status: 413, detail: "segment too large" };
      if (request.path === thumb) return { kind: "status", status: 401, detail: "credential expired" };
      return { kind: "store" };
    };
    const { uploader: up, events, logger } = env.uploader();
    const plan = renditionPlan(STREAM_A, "360p", { segments: 4, parts: 2 });
    await putInterleaved(up, [plan]);
    await up.putThumbnail(STREAM_A, { epoch: 1 }, bytesOf("jpeg"));
    await up.flush(STREAM_A);

    const rejected = new Set([badPart, bigSegment, thumb]);
    expect(env.edge.ackedPaths()).toEqual(plan.map((item) => item.path).filter((path) => !rejected.has(path)));
    for (const path of rejected) expect(env.edge.requestsFor(path), `${path} retried`).toHaveLength(1);
    const drops = events.filter((event) => event.type === "dropped");
    const described = drops.map((event) => [
      event.error instanceof EdgeRejectedError && event.error.status,
      event.error instanceof EdgeRejectedError && event.error.detail,
    ]);
    // The thumbnail has its own lane, so its drop may come at any point.
    expect(described.sort((x, y) => Number(x[0]) - Number(y[0]))).toEqual([
      [400, "part duration exceeds target"],
      [401, "credential expired"],
      [413, "segment too large"],
    ]);
    expect(logger.lines.filter((line) => line.level === "error" && line.message.includes("dropped"))).toHaveLength(3);
    expect(up.backlog()).toMatchObject({ failedObjects: 3, uploadedObjects: plan.length - 2, retries: 0, memoryObjects: 0 });
    expect(up.pending(STREAM_A)).toEqual({ objects: 0, bytes: 0, dropped: 0 });
  });

  it("stops a fenced stream (409) and only that stream; a newer epoch may upload again", { timeout: 5_000 }, async () => {
    env.edge.respond = (request) => {
      const meta = request.headers["x-media-meta"] ? (metaOf(request) as { epoch: number }) : null;
      const msn = msnOf(request.path);
      if (request.path.includes(STREAM_A) && meta?.epoch === 1 && msn !== null && msn >= 2) {
        return { kind: "status", status: 409, detail: "lease held by node eu-2" };
      }
      return { kind: "store" };
    };
    const { uploader: up, events } = env.uploader();
    const a360 = renditionPlan(STREAM_A, "360p", { segments: 6 });
    const a240 = renditionPlan(STREAM_A, "240p", { segments: 6 });
    const b160 = renditionPlan(STREAM_B, "160p", { segments: 6 });
    await putInterleaved(up, [a360, a240, b160]);

    const fenced = await up.flush(STREAM_A).then(
      () => null,
      (error: unknown) => error,
    );
    expect(fenced).toBeInstanceOf(StreamFencedError);
    expect(fenced).toMatchObject({ streamId: STREAM_A, epoch: 1, detail: "lease held by node eu-2" });
    await up.flush(STREAM_B);

    expect(ackedInPlan(env.edge.ackedPaths(), b160)).toEqual(b160.map((item) => item.path));
    const sentA = env.edge.requests.filter((request) => request.path.includes(STREAM_A)).map((request) => msnOf(request.path));
    expect(sentA.every((msn) => msn === null || msn <= 2)).toBe(true);
    expect(events.filter((event) => event.type === "fenced")).toEqual([expect.objectContaining({ type: "fenced", streamId: STREAM_A, epoch: 1 })]);
    // Each A lane had init, 0, 1 acknowledged or fenced in flight, and 2..5 fenced: 14 A objects in all.
    const metrics = up.backlog();
    expect(metrics.fencedObjects).toBeGreaterThanOrEqual(8);
    expect(metrics.uploadedObjects + metrics.fencedObjects).toBe(14 + 7);
    expect(metrics).toMatchObject({ failedObjects: 0, memoryObjects: 0 });
    await expect(up.putSegment(STREAM_A, "360p", segmentMeta(6, 0, 1), bytesOf("late"))).rejects.toBeInstanceOf(StreamFencedError);
    await expect(up.putThumbnail(STREAM_A, { epoch: 1 }, bytesOf("late"))).rejects.toBeInstanceOf(StreamFencedError);

    // The publisher came back here with a new lease: epoch 2 is not fenced.
    const next = renditionPlan(STREAM_A, "360p", { segments: 2, epoch: 2, firstMsn: 6 });
    const before = env.edge.ackedPaths().length;
    await putInterleaved(up, [next]);
    await up.flush(STREAM_A);
    expect(ackedInPlan(env.edge.ackedPaths().slice(before), next)).toEqual(next.map((item) => item.path));
  });

  it("uploads only the latest thumbnail when older ones are still queued", { timeout: 5_000 }, async () => {
    let down = true;
    env.edge.respond = () => (down ? { kind: "status", status: 503 } : { kind: "store" });
    const { uploader: up } = env.uploader();
    const thumbs = [1, 2, 3, 4, 5].map((n) => bytesOf(`thumb-${n}`));
    for (const thumb of thumbs) await up.putThumbnail(STREAM_A, { epoch: 1 }, thumb);
    expect(up.pending(STREAM_A).objects).toBe(2);
    down = false;
    await up.flush(STREAM_A);

    const path = ingestPaths.thumbnail(STREAM_A);
    expect(new Uint8Array(env.edge.objects.get(path) ?? [])).toEqual(thumbs[4]);
    const sentBodies = new Set(env.edge.requestsFor(path).map((request) => request.body.toString("hex")));
    for (const skipped of thumbs.slice(1, 4)) expect(sentBodies.has(Buffer.from(skipped).toString("hex"))).toBe(false);
    expect(up.backlog()).toMatchObject({ supersededObjects: 3, uploadedObjects: 2, failedObjects: 0 });
  });

  it("refuses names that cannot go into an upload URL, and objects after close()", { timeout: 5_000 }, async () => {
    const { uploader: up } = env.uploader();
    await expect(up.putInit("../etc", "360p", initMeta(), bytesOf("x"))).rejects.toMatchObject({ code: "invalid_object" });
    await expect(up.putInit(STREAM_A, "360p/../x", initMeta(), bytesOf("x"))).rejects.toMatchObject({ code: "invalid_object" });
    await up.close();
    await expect(up.putInit(STREAM_A, "360p", initMeta(), bytesOf("x"))).rejects.toMatchObject({ code: "uploader_closed" });
    await expect(up.flush(STREAM_A)).rejects.toMatchObject({ code: "uploader_closed" });
    expect(env.edge.requests).toHaveLength(0);
  });
});
