// workerd-heap finds workerd's inspector among the ports the process listens on, read from /proc.
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { listeningPorts } from "../../../bench/workerd-heap.ts";

describe("listeningPorts", () => {
  it("lists a TCP port this process listens on, and drops it once closed", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    expect(listeningPorts(process.pid)).toContain(port);
    await new Promise((resolve) => server.close(resolve));
    expect(listeningPorts(process.pid)).not.toContain(port);
  });
});
