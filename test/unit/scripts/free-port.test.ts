import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ephemeralPortStart, freePort } from "../../../scripts/lib/free-port.ts";

describe("freePort", () => {
  it("reads where the outgoing port range starts, and falls back to 32768", () => {
    const dir = mkdtempSync(join(tmpdir(), "free-port-"));
    writeFileSync(join(dir, "range"), "40000\t60999\n");
    writeFileSync(join(dir, "junk"), "junk\n");
    expect(ephemeralPortStart(join(dir, "range"))).toBe(40000);
    expect(ephemeralPortStart(join(dir, "junk"))).toBe(32768);
    expect(ephemeralPortStart(join(dir, "missing"))).toBe(32768);
  });

  it("gives ports below the outgoing range that a server can listen on, never the same one twice", async () => {
    const ports: number[] = [];
    for (let i = 0; i < 20; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(20);
    for (const port of ports) expect(port).toBeLessThan(ephemeralPortStart());
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(ports[0], "127.0.0.1", () => resolve());
    });
    await new Promise((resolve) => server.close(resolve));
  });
});
