// nginx serving a directory from disk on a free 127.0.0.1 port, with its own temporary config (`daemon off`), as
// the "static file server" baseline of the edge throughput benchmark.
import { mkdtempSync, rmSync, writeFileSync, chmodSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../scripts/lib/free-port.ts";
import { type GroupProcess, spawnGroup, waitForHttp } from "../scripts/lib/processes.ts";

/** A running nginx. */
export interface Nginx {
  url: string;
  /** Directory served at `/`. */
  root: string;
  process: GroupProcess;
  stop(): Promise<void>;
}

/** Starts nginx (one worker process, access log off) serving `files` (name -> bytes). */
export async function startNginx(files: Record<string, Uint8Array>): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), "edgecast-bench-nginx-"));
  const root = join(dir, "www");
  mkdirSync(root);
  for (const [name, bytes] of Object.entries(files)) {
    writeFileSync(join(root, name), bytes);
    chmodSync(join(root, name), 0o644);
  }
  // Workers may run as an unprivileged user: let them read the served tree.
  chmodSync(dir, 0o755);
  chmodSync(root, 0o755);
  const port = await freePort();
  const temp = (name: string) => join(dir, name);
  const config = `
worker_processes 1;
daemon off;
pid ${temp("nginx.pid")};
error_log ${temp("error.log")} warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  client_body_temp_path ${temp("client_body")};
  proxy_temp_path ${temp("proxy")};
  fastcgi_temp_path ${temp("fastcgi")};
  uwsgi_temp_path ${temp("uwsgi")};
  scgi_temp_path ${temp("scgi")};
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / { add_header Cache-Control "public, max-age=31536000, immutable"; }
  }
}
`;
  const configPath = temp("nginx.conf");
  writeFileSync(configPath, config);
  const proc = spawnGroup("nginx", "nginx", ["-c", configPath, "-p", dir, "-e", temp("error.log")]);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/`, 10_000, () => proc.child.exitCode === null);
  } catch (err) {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url,
    root,
    process: proc,
    async stop() {
      await proc.stop(3000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
