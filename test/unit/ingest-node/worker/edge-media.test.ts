// A worker's reads and uploads against a small local HTTP server standing in for the edge: the source segment is
// polled for until the node's upload lands, init and segment are read at once, and each call's end is marked.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { TranscodeJob } from "../../../../ingest-node/src/queue/transcode-job.ts";
import { EdgeMedia } from "../../../../ingest-node/src/worker/edge-media.ts";

const STREAM = "0b7e5f3c-6f1d-4a55-9d2e-3c1c5b7a9e10";
const job: TranscodeJob = {
  streamId: STREAM,
  epoch: 1,
  msn: 7,
  group: "low",
  sourceRendition: "source",
  rungs: [{ name: "360p", width: 640, height: 360, videoKbps: 800, audioKbps: 96 }],
  duration: 2,
  programDateTime: "2026-12-06T09:00:00.000Z",
  hasAudio: true,
  grant: "grant",
  targetDuration: 2,
  openedAt: Date.now() - 2_000,
  cutAt: Date.now(),
  fragments: false,
};

let server: Server | null = null;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A stand-in edge whose source segment lands `segmentAfterMs` after it starts; it logs each request. */
async function edge(segmentAfterMs: number): Promise<{ url: string; requests: { at: number; method: string; path: string; status: number }[] }> {
  const started = Date.now();
  const requests: { at: number; method: string; path: string; status: number }[] = [];
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const path = req.url ?? "";
      const status = req.method === "PUT" ? 204 : path.includes("/init/") ? 200 : Date.now() - started >= segmentAfterMs ? 200 : 404;
      requests.push({ at: Date.now(), method: req.method ?? "", path, status });
      res.writeHead(status).end(status === 200 ? (path.includes("/init/") ? "init" : "segment") : undefined);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, requests };
}

describe("EdgeMedia", () => {
  it("polls for a source segment that lands later, reads the init alongside, and marks when both were read", async () => {
    const { url, requests } = await edge(300);
    const media = new EdgeMedia(url, "worker-1");
    const before = Date.now();
    const source = await media.readSource(job, Date.now() + 5_000);
    expect(new TextDecoder().decode(source.init)).toBe("init");
    expect(new TextDecoder().decode(source.segment)).toBe("segment");
    const segmentReads = requests.filter((r) => r.path.endsWith("/segments/7"));
    const landed = segmentReads.find((r) => r.status === 200)!;
    // Polled (50 ms apart: four reads or more in the 300 ms before it landed) and read soon after it landed. The upper
    // bound is loose on purpose: timers fire late on a loaded machine, and this is a unit test, not a benchmark.
    expect(landed.at - before).toBeGreaterThanOrEqual(300);
    expect(landed.at - before).toBeLessThan(300 + 1_000);
    expect(segmentReads.length).toBeGreaterThanOrEqual(4);
    expect(requests.filter((r) => r.path.includes("/init/1"))).toHaveLength(1);
    expect(media.marks.sourceReadAt).toBeGreaterThanOrEqual(landed.at);
    expect(media.marks.firstUploadAt).toBeUndefined();
  });

  it("marks the first upload's start and the last one's end", async () => {
    const { url, requests } = await edge(0);
    const media = new EdgeMedia(url, "worker-1");
    const meta = { epoch: 1, msn: 7, duration: 2, program_date_time: job.programDateTime, parts: 0 };
    const before = Date.now();
    await media.putSegment(job, "360p", meta, new Uint8Array(10), Date.now() + 5_000);
    const first = media.marks.firstUploadAt!;
    await media.putSegment(job, "480p", meta, new Uint8Array(10), Date.now() + 5_000);
    expect(requests.map((r) => `${r.method} ${r.path.split("/renditions/")[1]}`)).toEqual(["PUT 360p/segments/7", "PUT 480p/segments/7"]);
    expect(first).toBeGreaterThanOrEqual(before);
    expect(media.marks.firstUploadAt).toBe(first);
    expect(media.marks.uploadedAt).toBeGreaterThanOrEqual(requests[1]!.at);
  });
});
