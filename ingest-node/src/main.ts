// Entry point of the ingest node: `node ingest-node/src/main.ts [--rtmp-port 1935 ...]` (flags override the env).
import { loadConfig } from "./config.ts";
import { IngestNode } from "./ingest-node.ts";
import { createLogger } from "./log.ts";
import { tuneGarbageCollection } from "./ops/garbage-collection.ts";
import { fixMmapThreshold } from "./ops/glibc-malloc.ts";

tuneGarbageCollection();
fixMmapThreshold();

let log = createLogger("node");
let node: IngestNode;
try {
  const config = loadConfig(process.env, process.argv.slice(2));
  log = createLogger("node", config.logLevel);
  node = new IngestNode(config, log);
  await node.start();
} catch (err) {
  log.error(`cannot start: ${(err as Error).message}`);
  process.exit(1);
}

let signals = 0;
const onSignal = (signal: string) => {
  signals++;
  if (signals === 1) {
    log.info(`${signal}: draining (send it again to stop at once)`);
    node.drain().then(
      () => process.exit(0),
      (err: Error) => {
        log.error(`drain failed: ${err.message}`);
        process.exit(1);
      },
    );
  } else {
    log.warn(`${signal} again: stopping now`);
    node.stopNow().finally(() => process.exit(0));
  }
};
process.on("SIGTERM", () => onSignal("SIGTERM"));
process.on("SIGINT", () => onSignal("SIGINT"));
