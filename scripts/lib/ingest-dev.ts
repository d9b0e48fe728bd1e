// Runs an ingest node as a child process (its own process group) and waits until its ops endpoint is healthy.
import { type GroupProcess, spawnGroup, waitForHttp } from "./processes.ts";
import type { Reaper } from "./reaper.ts";

/** Options of a local ingest node. */
export interface IngestDevOptions {
  edgeUrl: string;
  /** The node's own minted credential (NODE_TOKEN)... */
  nodeToken?: string;
  /** ...or the bootstrap secret (INGEST_SECRET): the node then registers itself and uses what that mints. */
  ingestSecret?: string;
  rtmpPort: number;
  httpPort: number;
  nodeId?: string;
  region?: string;
  ladder?: string;
  preset?: string;
  spoolDir: string;
  echo?: boolean;
  /** Extra environment (e.g. PUBLISHER_TIMEOUT_MS, LOG_LEVEL). */
  env?: Record<string, string>;
  onLine?: (line: string) => void;
  /** The watchdog that takes the node's process group down if the caller dies. */
  reaper?: Reaper;
}

/** A running ingest node. */
export interface IngestDev {
  rtmpUrl: string;
  opsUrl: string;
  process: GroupProcess;
  /** Every line it logged so far. */
  lines: string[];
  stop(): Promise<void>;
}

/** Starts `node ingest-node/src/main.ts` and resolves once /healthz answers. */
export async function startIngestDev(options: IngestDevOptions): Promise<IngestDev> {
  const lines: string[] = [];
  const env = {
    ...process.env,
    EDGE_URL: options.edgeUrl,
    // Neither inherited from this process: the node gets exactly the credential it was given.
    NODE_TOKEN: options.nodeToken ?? "",
    INGEST_SECRET: options.ingestSecret ?? "",
    NODE_ID: options.nodeId ?? "local-1",
    REGION: options.region ?? "local",
    RTMP_HOST: "127.0.0.1",
    RTMP_PORT: String(options.rtmpPort),
    HTTP_HOST: "127.0.0.1",
    HTTP_PORT: String(options.httpPort),
    LADDER: options.ladder ?? "default",
    X264_PRESET: options.preset ?? "veryfast",
    SPOOL_DIR: options.spoolDir,
    ...options.env,
  };
  const child = spawnGroup("ingest", process.execPath, ["ingest-node/src/main.ts"], {
    env,
    echo: options.echo,
    reaper: options.reaper,
    onLine: (line) => {
      lines.push(line);
      options.onLine?.(line);
    },
  });
  const opsUrl = `http://127.0.0.1:${options.httpPort}`;
  try {
    await waitForHttp(`${opsUrl}/healthz`, 30_000, () => child.child.exitCode === null);
  } catch (err) {
    await child.stop();
    throw new Error(`${(err as Error).message}\n${lines.slice(-20).join("\n")}`);
  }
  return { rtmpUrl: `rtmp://127.0.0.1:${options.rtmpPort}/live`, opsUrl, process: child, lines, stop: () => child.stop(15_000) };
}
