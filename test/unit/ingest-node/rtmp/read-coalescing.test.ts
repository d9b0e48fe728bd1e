// Batched reads of publishing connections: a writer that writes every 2 ms is read at the coalescer's ticks, every byte
// in order, and a socket left out (or an interval of 0) is read at each write as before.
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ReadCoalescer } from "../../../../ingest-node/src/rtmp/read-coalescing.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let server: Server | null = null;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = null;
});

/** A connected pair on 127.0.0.1: the writer (client) and the reader (the server's side). */
async function pair(): Promise<{ writer: Socket; reader: Socket }> {
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer((socket) => resolve(socket));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const port = (server!.address() as { port: number }).port;
  const writer = connect({ host: "127.0.0.1", port });
  const reader = await accepted;
  sockets.push(writer, reader);
  return { writer, reader };
}

/** Writes 200 numbered 100-byte frames, one every 2 ms; resolves with what the reader's 'data' events were. */
async function writeFrames(writer: Socket, reader: Socket): Promise<{ reads: number; bytes: Buffer }> {
  const chunks: Buffer[] = [];
  reader.on("data", (chunk: Buffer) => chunks.push(chunk));
  for (let i = 0; i < 200; i++) {
    writer.write(Buffer.alloc(100, i));
    await sleep(2);
  }
  const deadline = Date.now() + 2_000;
  while (chunks.reduce((n, c) => n + c.byteLength, 0) < 20_000 && Date.now() < deadline) await sleep(10);
  return { reads: chunks.length, bytes: Buffer.concat(chunks) };
}

const inOrder = (bytes: Buffer) => bytes.byteLength === 20_000 && [...Array(200).keys()].every((i) => bytes[i * 100] === i && bytes[i * 100 + 99] === i);

describe("ReadCoalescer", () => {
  it("reads a connection at its ticks: every byte in order, in far fewer reads than writes", async () => {
    const coalescer = new ReadCoalescer(50);
    const { writer, reader } = await pair();
    expect(coalescer.add(reader)).toBe(true);
    expect(coalescer.connections).toBe(1);
    const started = Date.now();
    const { reads, bytes } = await writeFrames(writer, reader);
    const elapsed = Date.now() - started;
    expect(inOrder(bytes)).toBe(true);
    // One read per 50 ms tick (and the first read), with room for a late timer: far from one per write.
    expect(reads).toBeLessThanOrEqual(Math.ceil(elapsed / 50) + 3);
    expect(reads).toBeGreaterThan(1);
    reader.destroy();
    await new Promise((resolve) => reader.once("close", resolve));
    expect(coalescer.connections).toBe(0);
  });

  it("leaves a connection alone with an interval of 0: it is read as bytes arrive", async () => {
    const off = new ReadCoalescer(0);
    const { writer, reader } = await pair();
    expect(off.add(reader)).toBe(false);
    const { reads, bytes } = await writeFrames(writer, reader);
    expect(inOrder(bytes)).toBe(true);
    // 200 writes 2 ms apart arrive as many reads (the kernel merges a few at most).
    expect(reads).toBeGreaterThan(50);
  });

  it("lets a resting connection read at close, and holds none afterwards", async () => {
    const coalescer = new ReadCoalescer(60_000);
    const { writer, reader } = await pair();
    coalescer.add(reader);
    const chunks: Buffer[] = [];
    reader.on("data", (chunk: Buffer) => chunks.push(chunk));
    writer.write(Buffer.from("first"));
    while (chunks.length < 1) await sleep(5);
    writer.write(Buffer.from("second"));
    await sleep(100);
    // Resting until a tick a minute away: the second write waits in the kernel.
    expect(Buffer.concat(chunks).toString()).toBe("first");
    coalescer.close();
    while (chunks.length < 2) await sleep(5);
    expect(Buffer.concat(chunks).toString()).toBe("firstsecond");
    writer.write(Buffer.from("third"));
    while (chunks.length < 3) await sleep(5);
    expect(Buffer.concat(chunks).toString()).toBe("firstsecondthird");
    expect(coalescer.add(reader)).toBe(false);
  });
});
