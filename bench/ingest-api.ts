// A synthetic ingest node speaking the edge's ingest API directly (publish, init, parts, segments), so a benchmark
// decides exactly when a part lands — no FFmpeg on the CPU while it measures.
import { request } from "node:http";
import type { InitMeta, PartMeta, PublishResponse, SegmentMeta } from "../protocol/ingest.ts";
import { MEDIA_META_HEADER, NODE_FEATURES, NODE_ID_HEADER } from "../protocol/ingest.ts";
import { ingestPaths } from "../protocol/ingest-paths.ts";

/** An ingest API client with the bootstrap node credential. */
export class SyntheticNode {
  private readonly edgeUrl: string;
  private readonly token: string;
  private readonly nodeId: string;

  constructor(edgeUrl: string, token: string, nodeId: string) {
    this.edgeUrl = edgeUrl;
    this.token = token;
    this.nodeId = nodeId;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, [NODE_ID_HEADER]: this.nodeId, ...extra };
  }

  /** One request on its own connection (no keep-alive: a pooled connection may be closed under load). */
  private send(method: string, path: string, body: Uint8Array | string, headers: Record<string, string>): Promise<string> {
    const url = new URL(path, this.edgeUrl);
    const payload = typeof body === "string" ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method,
          agent: false,
          headers: { ...this.headers(headers), "content-length": String(payload.byteLength), connection: "close" },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (text += chunk));
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve(text);
            else reject(new Error(`${method} ${path} answered ${status}: ${text.slice(0, 300)}`));
          });
          res.on("error", reject);
        },
      );
      req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  async publish(streamKey: string): Promise<PublishResponse> {
    const text = await this.send("POST", ingestPaths.publish(), JSON.stringify({ stream_key: streamKey, features: [NODE_FEATURES.encryption] }), { "content-type": "application/json" });
    return JSON.parse(text) as PublishResponse;
  }

  async putInit(streamId: string, rendition: string, meta: InitMeta, bytes: Uint8Array): Promise<void> {
    await this.send("PUT", ingestPaths.init(streamId, rendition), bytes, { [MEDIA_META_HEADER]: JSON.stringify(meta) });
  }

  async putPart(streamId: string, rendition: string, meta: PartMeta, bytes: Uint8Array): Promise<void> {
    await this.send("PUT", ingestPaths.part(streamId, rendition, meta.msn, meta.part), bytes, { [MEDIA_META_HEADER]: JSON.stringify(meta) });
  }

  async putSegment(streamId: string, rendition: string, meta: SegmentMeta, bytes: Uint8Array): Promise<void> {
    await this.send("PUT", ingestPaths.segment(streamId, rendition, meta.msn), bytes, { [MEDIA_META_HEADER]: JSON.stringify(meta) });
  }
}
