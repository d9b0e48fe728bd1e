// Which process listens on a TCP port: so that `npm start` can say "port 8787 is in use by pid N" before it starts
// anything, instead of a wrangler that fails to bind after the rest is up.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createServer } from "node:net";

/** A process listening on a port, as far as this user may see it. */
export interface PortOwner {
  pid: number;
  /** Its command name (`/proc/<pid>/comm`), e.g. `workerd`. */
  command: string;
}

/** True when `host:port` cannot be bound right now (something listens there, or on the wildcard address). */
export function portTaken(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(true));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(false)));
  });
}

/** Inodes of the sockets listening on `port` (any address, IPv4 and IPv6), from /proc/net/tcp{,6}. */
export function listeningInodes(port: number, procRoot = "/proc"): Set<string> {
  const inodes = new Set<string>();
  for (const table of ["tcp", "tcp6"]) {
    let text: string;
    try {
      text = readFileSync(`${procRoot}/net/${table}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (!local || fields[3] !== "0A") continue;
      if (Number.parseInt(local.split(":")[1] ?? "", 16) === port && fields[9] && fields[9] !== "0") inodes.add(fields[9]);
    }
  }
  return inodes;
}

/** The process holding a listening socket on `port`, found through /proc; null when unknown (no /proc, no access). */
export function portOwner(port: number, procRoot = "/proc"): PortOwner | null {
  const inodes = listeningInodes(port, procRoot);
  if (inodes.size === 0) return null;
  let pids: string[];
  try {
    pids = readdirSync(procRoot).filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`${procRoot}/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) {
        let command = "";
        try {
          command = readFileSync(`${procRoot}/${pid}/comm`, "utf8").trim();
        } catch {
          // gone meanwhile
        }
        return { pid: Number(pid), command };
      }
    }
  }
  return null;
}

/** One line saying which of `ports` is taken and by whom, or null when all are free. */
export async function describeTakenPorts(ports: { port: number; setting: string }[], procRoot = "/proc"): Promise<string | null> {
  for (const { port, setting } of ports) {
    if (!(await portTaken(port))) continue;
    const owner = portOwner(port, procRoot);
    const by = owner ? ` by pid ${owner.pid}${owner.command ? ` (${owner.command})` : ""}` : "";
    return `port ${port} is in use${by}: stop it, or choose another port with ${setting}=<port>`;
  }
  return null;
}
