// A synthetic ingest node speaking the edge's ingest API directly (publish, init, parts, segments), so a benchmark
// decides exactly when a part lands — no FFmpeg on the CPU while it measures.
import { request } from "node:http";
import type { InitMeta, PartMeta, PublishResponse, SegmentMeta } from "../protocol/ingest.ts";
import { MEDIA_META_HEADER, NODE_FEATURES, NODE_ID_HEADER } from "../protocol/ingest.ts";
import { ingestPaths } from "../protocol/ingest-paths.ts";

/** An ingest API client: registers with the bootstrap secret, then calls with the credential that mints. */
export class SyntheticNode {
  private readonly edgeUrl: string;
  private readonly bootstrapSecret: string;
  private readonly nodeId: string;
  private token: Promise<string> | null = null;

  constructor(edgeUrl: string, bootstrapSecret: string, nodeId: string) {
    this.edgeUrl = edgeUrl;
    this.bootstrapSecret = bootstrapSecret;
    this.nodeId = nodeId;
  }

  /** This node's own credential, registered on first use (region `local`). */
  private credential(): Promise<string> {
    this.token ??= fetch(new URL(ingestPaths.nodeRegister(), this.edgeUrl), {
      method: "POST",
      headers: { authorization: `Bearer ${this.bootstrapSecret}`, "content-type": "application/json" },
      body: JSON.stringify({ node_id: this.nodeId, region: "local" }),
    }).then(async (response) => {
      if (response.status !== 201) throw new Error(`register ${this.nodeId}: ${response.status} ${await response.text()}`);
      return ((await response.json()) as { credential: string }).credential;
    });
    return this.token;
  }

  private async headers(extra: Record<string, string> = {}): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await this.credential()}`, [NODE_ID_HEADER]: this.nodeId, ...extra };
  }

  /** One request on its own connection (no keep-alive: a pooled connection may be closed under load). */
  private async send(method: string, path: string, body: Uint8Array | string, extraHeaders: Record<string, string>): Promise<string> {
    const url = new URL(path, this.edgeUrl);
    const payload = typeof body === "string" ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const headers = await this.headers(extraHeaders);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method,
          agent: false,
          headers: { ...headers, "content-length": String(payload.byteLength), connection: "close" },
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
    const text = await this.send("POST", ingestPaths.publish(), JSON.stringify({ stream_key: streamKey, features: [NODE_FEATURES.encryption] }), {
      "content-type": "application/json",
    });
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
