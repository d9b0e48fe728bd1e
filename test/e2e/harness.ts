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
/** The bootstrap secret of the test system: nodes register with it (it is no node credential itself). */
export const INGEST_SECRET = "e2e-ingest-secret";

/** Registers `nodeId` in `region` with the bootstrap secret, as a node does at start; its own minted credential. */
export async function registerNode(edgeUrl: string, nodeId: string, region: string): Promise<string> {
  const response = await fetch(`${edgeUrl}/ingest/v1/nodes/register`, {
    method: "POST",
    headers: { authorization: `Bearer ${INGEST_SECRET}`, "content-type": "application/json" },
    body: JSON.stringify({ node_id: nodeId, region }),
  });
  if (response.status !== 201) throw new Error(`registering ${nodeId}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { credential: string }).credential;
}

/** One ingest node of a test system. */
export interface NodeSpec {
  /** Its region (default `local`); the edge's INGEST_REGIONS names every node's region with its RTMP URL. */
  region?: string;
  /** Its id (default `<region>-<n>`). */
  nodeId?: string;
  /** Its own minted credential (NODE_TOKEN); by default it registers itself with the bootstrap INGEST_SECRET. */
  nodeToken?: string;
  /** Extra env for this node only. */
  env?: Record<string, string>;
}

/** Options of a test system. */
export interface SystemOptions {
  /** Extra edge vars (RECONNECT_WINDOW_SECONDS, ...). */
  edgeVars?: Record<string, string>;
  /** Extra ingest node env (PUBLISHER_TIMEOUT_MS, ...), for every node. */
  nodeEnv?: Record<string, string>;
  /** The ingest nodes to start (default one node in region `local`), each on its own ports and spool dir. */
  nodes?: NodeSpec[];
}

/** A running ingest node of the system and what it takes to start it again the same way. */
export interface SystemNode {
  /** The running process (replaced by restartNode). */
  dev: IngestDev;
  nodeId: string;
  region: string;
  rtmpPort: number;
  opsPort: number;
  /** UDP port of its SRT listener (each node its own, so nodes on one machine do not share the default 9000). */
  srtPort: number;
  /** RTMP server URL (`rtmp://127.0.0.1:<port>/live`). */
  rtmpUrl: string;
  opsUrl: string;
  spoolDir: string;
  /** Every line it logged, across restarts (the dev's own `lines` start empty on each start). */
  lines: string[];
  spec: NodeSpec;
}

/** A running edge + ingest node(s). */
export interface TestSystem {
  /** The running edge (replaced by startEdge; the URL stays the same). */
  edge: EdgeDev;
  /** The first node (what single-node tests use). */
  node: IngestDev;
  nodes: SystemNode[];
  dir: string;
  /** wrangler's --persist-to directory (D1, R2, Durable Objects). */
  persistDir: string;
  /** Calls the control API with the admin token; parses JSON answers. */
  api<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: T; headers: Headers }>;
  /** Starts a publisher of the test pattern to `url`. */
  publish(url: string, options?: Omit<TestPublisherOptions, "url">): TestPublisher;
  /** Absolute URL on the edge. */
  url(path: string): string;
  /** Stops the edge (workerd and all); the nodes keep running and retry. */
  stopEdge(): Promise<void>;
  /** Starts the edge again on the same port with the same persist dir (no-op when it runs). */
  startEdge(): Promise<void>;
  /** SIGKILLs node `index`'s whole process group (its FFmpeg children too): a crash, nothing flushed. */
  killNode(index: number): Promise<void>;
  /** Stops node `index` (SIGINT: drain) if it runs, and starts it again on the same ports and spool dir. */
  restartNode(index: number): Promise<SystemNode>;
  /** Starts one more node against the edge; resolves once it is healthy. */
  addNode(spec: NodeSpec): Promise<SystemNode>;
  stop(): Promise<void>;
}

/** Ports, URLs and spool directory of the node numbered `ordinal` (from 1; the first one's spool is `spool`). */
async function planNode(dir: string, spec: NodeSpec, ordinal: number): Promise<Omit<SystemNode, "dev" | "lines">> {
  const region = spec.region ?? "local";
  const nodeId = spec.nodeId ?? `${region}-${ordinal}`;
  const [rtmpPort, opsPort, srtPort] = [await freePort(), await freePort(), await freePort()];
  return {
    nodeId,
    region,
    rtmpPort,
    opsPort,
    srtPort,
    rtmpUrl: `rtmp://127.0.0.1:${rtmpPort}/live`,
    opsUrl: `http://127.0.0.1:${opsPort}`,
    spoolDir: join(dir, ordinal === 1 ? "spool" : `spool-${nodeId}`),
    spec,
  };
}

/** Starts the edge under wrangler dev and the ingest node(s) (small ladder, ultrafast) pointed at it. */
export async function startSystem(options: SystemOptions = {}): Promise<TestSystem> {
  const dir = mkdtempSync(join(tmpdir(), "edgecast-e2e-"));
  const persistDir = join(dir, "state");
  const specs = options.nodes?.length ? options.nodes : [{ region: "local" }];
  const edgePort = await freePort();
  const planned: Omit<SystemNode, "dev" | "lines">[] = [];
  for (const [index, spec] of specs.entries()) planned.push(await planNode(dir, spec, index + 1));
  // Every node's region, with the first node of each as the region's configured URL.
  const regions: Record<string, string> = {};
  for (const node of planned) regions[node.region] ??= node.rtmpUrl;
  const edgeVars = {
    ADMIN_TOKEN,
    INGEST_SECRET,
    INGEST_REGIONS: JSON.stringify(regions),
    DEFAULT_REGION: planned[0]!.region,
    ...options.edgeVars,
  };
  const launchEdge = () => startEdgeDev({ port: edgePort, persistTo: persistDir, logLevel: "warn", vars: edgeVars });
  const edge = await launchEdge();
  const edgeUrl = edge.url;

  const launchNode = async (plan: Omit<SystemNode, "dev" | "lines">, lines: string[]): Promise<IngestDev> =>
    startIngestDev({
      edgeUrl,
      ...(plan.spec.nodeToken ? { nodeToken: plan.spec.nodeToken } : { ingestSecret: INGEST_SECRET }),
      nodeId: plan.nodeId,
      region: plan.region,
      rtmpPort: plan.rtmpPort,
      httpPort: plan.opsPort,
      ladder: "test",
      preset: "ultrafast",
      spoolDir: plan.spoolDir,
      env: { LOG_LEVEL: "info", SRT_PORT: String(plan.srtPort), ...options.nodeEnv, ...plan.spec.env },
      onLine: (line) => lines.push(line),
    });

  const nodes: SystemNode[] = [];
  try {
    for (const plan of planned) {
      const lines: string[] = [];
      nodes.push({ ...plan, lines, dev: await launchNode(plan, lines) });
    }
  } catch (err) {
    await Promise.allSettled(nodes.map((n) => n.dev.stop()));
    await edge.stop();
    throw err;
  }
  const publishers: TestPublisher[] = [];
  let edgeRunning = true;
  const system: TestSystem = {
    edge,
    node: nodes[0]!.dev,
    nodes,
    dir,
    persistDir,
    async api(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...headers }, redirect: "manual" };
      if (body !== undefined) {
        init.body = typeof body === "string" ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)["content-type"] ??= "application/json";
      }
      const response = await fetch(`${edgeUrl}${path}`, init);
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
    url: (path) => `${edgeUrl}${path}`,
    async stopEdge() {
      edgeRunning = false;
      await system.edge.stop();
    },
    async startEdge() {
      if (edgeRunning) return;
      system.edge = await launchEdge();
      edgeRunning = true;
    },
    async killNode(index) {
      const node = nodes[index];
      const child = node?.dev.process.child;
      if (!node || child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
      await node.dev.process.exited;
    },
    async restartNode(index) {
      const node = nodes[index];
      if (!node) throw new Error(`no node ${index}`);
      await node.dev.stop();
      node.dev = await launchNode(node, node.lines);
      if (index === 0) system.node = node.dev;
      return node;
    },
    async addNode(spec) {
      const plan = await planNode(dir, spec, nodes.length + 1);
      const lines: string[] = [];
      const node: SystemNode = { ...plan, lines, dev: await launchNode(plan, lines) };
      nodes.push(node);
      return node;
    },
    async stop() {
      await Promise.allSettled(publishers.map((p) => p.stop()));
      await Promise.allSettled(nodes.map((n) => n.dev.stop()));
      await system.edge.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return system;
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
