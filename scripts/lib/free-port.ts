// Free TCP ports on 127.0.0.1 for servers started by tests and scripts.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Ports this process handed out already: never handed out twice, even once their server stopped. */
const handedOut = new Set<number>();

/** Where the range of ports the OS gives outgoing connections starts (Linux's ip_local_port_range), else 32768. */
export function ephemeralPortStart(path = "/proc/sys/net/ipv4/ip_local_port_range"): number {
  try {
    const low = Number(readFileSync(path, "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 2048 && low <= 65535 ? low : 32768;
  } catch {
    return 32768;
  }
}

/** Whether a server can listen on `port` of 127.0.0.1 right now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A port the OS picks (free a moment ago); only when no port below the outgoing range could be had. */
function osPickedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A port that was free a moment ago. Picked below the range the OS gives outgoing connections: a port the OS picks for
 * a listener comes from that range, so between this check and the server's own listen any outgoing connection on the
 * machine (a fetch, a test's client) could take it as its local port, and the server failed with EADDRINUSE (seen in
 * a CI run). Below the range only another listener can take it, which the check sees.
 */
export async function freePort(): Promise<number> {
  const high = ephemeralPortStart() - 1;
  const low = Math.max(10_000, high - 12_000);
  for (let attempt = 0; attempt < 64 && high > low; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  return osPickedPort();
}
