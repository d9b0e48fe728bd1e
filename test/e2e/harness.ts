// The real system for end-to-end tests: wrangler dev (edge) + an ingest node + FFmpeg publishers, on free ports.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEdgeDev, type EdgeDev } from "../../scripts/lib/edge-dev.ts";
import { freePort } from "../../scripts/lib/free-port.ts";
import { startIngestDev, type IngestDev } from "../../scripts/lib/ingest-dev.ts";
import { startTestPublisher, type TestPublisher, type TestPublisherOptions } from "../../scripts/lib/test-publisher.ts";

/** The admin token of the test system. */
export const ADMIN_TOKEN = "e2e-admin-token";
/** The node credential of the test system. */
export const INGEST_SECRET = "e2e-ingest-secret";

/** Options of a test system. */
export interface SystemOptions {
  /** Extra edge vars (RECONNECT_WINDOW_SECONDS, ...). */
  edgeVars?: Record<string, string>;
  /** Extra ingest node env (PUBLISHER_TIMEOUT_MS, ...). */
  nodeEnv?: Record<string, string>;
}

/** A running edge + ingest node. */
export interface TestSystem {
  edge: EdgeDev;
  node: IngestDev;
  dir: string;
  /** Calls the control API with the admin token; parses JSON answers. */
  api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: T; headers: Headers }>;
  /** Starts a publisher of the test pattern to `url`. */
  publish(url: string, options?: Omit<TestPublisherOptions, "url">): TestPublisher;
  /** Absolute URL on the edge. */
  url(path: string): string;
  stop(): Promise<void>;
}

/** Starts the edge under wrangler dev and one ingest node (small ladder, ultrafast) pointed at it. */
export async function startSystem(options: SystemOptions = {}): Promise<TestSystem> {
  const dir = mkdtempSync(join(tmpdir(), "edgecast-e2e-"));
  const [edgePort, rtmpPort, opsPort] = [await freePort(), await freePort(), await freePort()];
  const edge = await startEdgeDev({
    port: edgePort,
    persistTo: join(dir, "state"),
    logLevel: "warn",
    vars: {
      ADMIN_TOKEN,
      INGEST_SECRET,
      INGEST_REGIONS: JSON.stringify({ local: `rtmp://127.0.0.1:${rtmpPort}/live` }),
      ...options.edgeVars,
    },
  });
  let node: IngestDev;
  try {
    node = await startIngestDev({
      edgeUrl: edge.url,
      nodeToken: INGEST_SECRET,
      rtmpPort,
      httpPort: opsPort,
      ladder: "test",
      preset: "ultrafast",
      spoolDir: join(dir, "spool"),
      env: { LOG_LEVEL: "info", ...options.nodeEnv },
    });
  } catch (err) {
    await edge.stop();
    throw err;
  }
  const publishers: TestPublisher[] = [];
  return {
    edge,
    node,
    dir,
    async api(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...headers }, redirect: "manual" };
      if (body !== undefined) {
        init.body = typeof body === "string" ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)["content-type"] ??= "application/json";
      }
      const response = await fetch(`${edge.url}${path}`, init);
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: response.status, body: parsed as never, headers: response.headers };
    },
    publish(url, publisherOptions = {}) {
      const publisher = startTestPublisher({ url, ...publisherOptions });
      publishers.push(publisher);
      return publisher;
    },
    url: (path) => `${edge.url}${path}`,
    async stop() {
      await Promise.allSettled(publishers.map((p) => p.stop()));
      await node.stop();
      await edge.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`);
}
