// A stand-in for the edge's ingest API, for the ingest benchmark: authorizes every publish (stream mode `low`; a pool
// when a queue-mode node asks for one),
// acknowledges every upload at once and records when each segment arrived, plus the node's stream heartbeats. It
// keeps the edge (wrangler dev, workerd) off the CPU the ingest node is measured on.
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { MEDIA_META_HEADER } from "../protocol/ingest.ts";

/** A segment as it arrived. */
export interface ArrivedSegment {
  rendition: string;
  msn: number;
  durationS: number;
  bytes: number;
  at: number;
}

/** What the fake edge saw of one stream. */
export interface FakeStream {
  streamId: string;
  streamKey: string;
  publishedAt: number;
  segments: ArrivedSegment[];
  heartbeats: { at: number; speed: number; fps: number; backlog: number }[];
  uploadedBytes: number;
}

/** A running fake edge. */
export interface FakeEdge {
  url: string;
  /** Streams by stream key. */
  streams: Map<string, FakeStream>;
  stop(): Promise<void>;
}

/** Starts the fake edge on 127.0.0.1:`port` (0: any). */
export async function startFakeEdge(port = 0): Promise<FakeEdge> {
  const streams = new Map<string, FakeStream>();
  const byId = new Map<string, FakeStream>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on("data", (chunk: Buffer) => {
      bytes += chunk.byteLength;
      if (req.method === "POST") chunks.push(chunk);
    });
    req.on("end", () => {
      const path = (req.url ?? "").split("?")[0] ?? "";
      const json = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (req.method === "POST" && path === "/ingest/v1/publish") {
        const { stream_key, pool_renditions } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { stream_key: string; pool_renditions?: string[] };
        const stream: FakeStream = { streamId: randomUUID(), streamKey: stream_key, publishedAt: Date.now(), segments: [], heartbeats: [], uploadedBytes: 0 };
        streams.set(stream_key, stream);
        byId.set(stream.streamId, stream);
        json(200, {
          stream_id: stream.streamId,
          latency_mode: "low",
          segment_target: 2,
          part_target: null,
          epoch: 1,
          first_msn: 0,
          reconnect: false,
          // A queue-mode node asks for a pool: granted, so it enqueues its jobs as it would for the real edge.
          ...(pool_renditions?.length ? { worker_grant: "bench-worker-grant" } : {}),
        });
        return;
      }
      const streamMatch = /^\/ingest\/v1\/streams\/([0-9a-f-]{36})\/(.*)$/.exec(path);
      const stream = streamMatch ? byId.get(streamMatch[1]!) : undefined;
      if (req.method === "PUT") {
        if (stream) {
          stream.uploadedBytes += bytes;
          const segment = /^renditions\/([^/]+)\/segments\/(\d+)$/.exec(streamMatch![2]!);
          if (segment) {
            const meta = JSON.parse(String(req.headers[MEDIA_META_HEADER] ?? "{}")) as { duration?: number };
            stream.segments.push({ rendition: segment[1]!, msn: Number(segment[2]), durationS: meta.duration ?? 0, bytes, at: Date.now() });
          }
        }
        res.writeHead(204).end();
        return;
      }
      if (req.method === "POST") {
        if (stream && streamMatch![2] === "heartbeat") {
          const beat = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { speed: number; fps: number; backlog: number };
          stream.heartbeats.push({ at: Date.now(), speed: beat.speed, fps: beat.fps, backlog: beat.backlog });
        }
        json(200, { ok: true });
        return;
      }
      json(404, { detail: "not found" });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const actual = typeof address === "object" && address ? address.port : port;
  return {
    url: `http://127.0.0.1:${actual}`,
    streams,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * How fast a live stream's segments kept coming compared with the media they carry: media seconds delivered per
 * wall-clock second between the first and last segment of one rendition after `fromMs` (1.0 = kept up with realtime).
 */
export function realtimeFactor(segments: ArrivedSegment[], fromMs: number, toMs: number): { factor: number | null; segments: number } {
  const byRendition = new Map<string, ArrivedSegment[]>();
  for (const s of segments) {
    if (s.at < fromMs || s.at > toMs) continue;
    byRendition.set(s.rendition, [...(byRendition.get(s.rendition) ?? []), s]);
  }
  // The rendition with the most segments in the window (they all come from one FFmpeg).
  const list = [...byRendition.values()].sort((a, b) => b.length - a.length)[0] ?? [];
  if (list.length < 3) return { factor: null, segments: list.length };
  const first = list[0]!;
  const last = list.at(-1)!;
  const media = list.slice(1).reduce((sum, s) => sum + s.durationS, 0);
  const wall = (last.at - first.at) / 1000;
  return { factor: wall > 0 ? media / wall : null, segments: list.length };
}
