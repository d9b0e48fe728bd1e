// The node's operations endpoint: GET /healthz and Prometheus GET /metrics.
import { createServer, type Server } from "node:http";
import { type MetricSample, renderMetrics } from "./metrics.ts";

/** What the ops server reports. */
export interface OpsSource {
  health(): { ok: boolean; draining: boolean; active_streams: number; node_id: string; region: string };
  metrics(): MetricSample[];
}

/** Starts the ops HTTP server; resolves with it and its bound port. */
export async function startOpsServer(host: string, port: number, source: OpsSource): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
    } else if (path === "/healthz") {
      const health = source.health();
      res.writeHead(health.ok ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify(health));
    } else if (path === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(renderMetrics(source.metrics()));
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return { server, port: typeof address === "object" && address ? address.port : port };
}
