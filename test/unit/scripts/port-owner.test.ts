// A taken port is found with the pid that holds it (through /proc), before npm start starts anything.
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { describeTakenPorts, portOwner, portTaken } from "../../../scripts/lib/port-owner.ts";
import { freePort } from "../../../scripts/lib/free-port.ts";

describe("port owner", () => {
  it("names this process for a port it listens on, and nothing for a free port", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      expect(await portTaken(port)).toBe(true);
      expect(portOwner(port)?.pid).toBe(process.pid);
      expect(await describeTakenPorts([{ port, setting: "EDGE_PORT" }])).toMatch(
        new RegExp(`^port ${port} is in use by pid ${process.pid} \\(\\S+\\): stop it, or choose another port with EDGE_PORT=<port>$`),
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const free = await freePort();
    expect(await portTaken(free)).toBe(false);
    expect(portOwner(free)).toBeNull();
    expect(await describeTakenPorts([{ port: free, setting: "EDGE_PORT" }])).toBeNull();
  });

  it("says only 'in use' when the owner cannot be found", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      expect(portOwner(port, "/nonexistent-proc")).toBeNull();
      expect(await describeTakenPorts([{ port, setting: "RTMP_PORT" }], "/nonexistent-proc")).toBe(
        `port ${port} is in use: stop it, or choose another port with RTMP_PORT=<port>`,
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
