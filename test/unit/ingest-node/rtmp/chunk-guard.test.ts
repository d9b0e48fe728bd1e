import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { type ChunkGuardLimits, RtmpChunkGuard } from "../../../../ingest-node/src/rtmp/chunk-guard.ts";

const require = createRequire(import.meta.url);
/** node-media-server's own RTMP parser: the guard must agree with it on every byte it lets through. */
const NmsRtmp = require("node-media-server/src/protocol/rtmp.js") as new () => {
  parserData(data: Buffer): string | null;
  inChunkSize: number;
  inPackets: Map<number, { capacity: number }>;
  onOutputCallback: (b: Buffer) => void;
};

const LIMITS: ChunkGuardLimits = { maxMessageBytes: 8 * 1024 * 1024, maxChunkStreams: 8, preauthBytes: 4 * 1024 * 1024 };

/** C0 + C1 + C2 as a client sends them. */
const HANDSHAKE = Buffer.concat([Buffer.from([3]), Buffer.alloc(1536, 1), Buffer.alloc(1536, 2)]);

/** A chunk basic header in its 1-, 2- or 3-byte form (nms's reading of the 3-byte form is ours to mirror, not check). */
function basic(fmt: number, csid: number): number[] {
  if (csid < 64) return [(fmt << 6) | csid];
  if (csid < 320) return [fmt << 6, csid - 64];
  return [(fmt << 6) | 1, (csid - 64) & 0xff, (csid - 64) >> 8];
}

/** One message header (fmt 0..3) plus its extended timestamp when `timestamp` does not fit 24 bits. */
function messageHeader(fmt: number, csid: number, m: { timestamp: number; length: number; type: number }): number[] {
  const out = basic(fmt, csid);
  const field = Math.min(m.timestamp, 0xffffff);
  if (fmt <= 2) out.push((field >> 16) & 0xff, (field >> 8) & 0xff, field & 0xff);
  if (fmt <= 1) out.push((m.length >> 16) & 0xff, (m.length >> 8) & 0xff, m.length & 0xff, m.type);
  if (fmt === 0) out.push(1, 0, 0, 0);
  if (field === 0xffffff) out.push((m.timestamp >>> 24) & 0xff, (m.timestamp >> 16) & 0xff, (m.timestamp >> 8) & 0xff, m.timestamp & 0xff);
  return out;
}

/** The chunks of one message: its header, then continuation chunks (fmt 3, repeating an extended timestamp). */
function messageChunks(fmt: number, csid: number, m: { timestamp: number; type: number; payload: Buffer }, chunkSize: number): Buffer[] {
  const head = { timestamp: m.timestamp, length: m.payload.length, type: m.type };
  const chunks: Buffer[] = [];
  let offset = 0;
  do {
    const header = offset === 0 ? messageHeader(fmt, csid, head) : messageHeader(3, csid, { ...head, timestamp: m.timestamp >= 0xffffff ? m.timestamp : 0 });
    if (offset !== 0 && m.timestamp < 0xffffff) header.splice(basic(3, csid).length);
    chunks.push(Buffer.concat([Buffer.from(header), m.payload.subarray(offset, offset + chunkSize)]));
    offset += chunkSize;
  } while (offset < m.payload.length);
  return chunks;
}

/** A Set Chunk Size message on chunk stream 2. */
function setChunkSize(size: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(size);
  return Buffer.concat(messageChunks(0, 2, { timestamp: 0, type: 1, payload }, 128));
}

/** A deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number): (n: number) => number {
  let a = seed;
  return (n) => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/**
 * A random but well-formed client byte stream: messages on up to 7 chunk stream ids (1-, 2- and 3-byte forms), all
 * four header formats, extended timestamps, two messages' chunks interleaved, and chunk size changes between them.
 */
function randomSession(seed: number): Buffer {
  const rand = prng(seed);
  const ids = [3, 4, 5, 6, 70, 300, 600];
  const used = new Set<number>();
  const parts: Buffer[] = [HANDSHAKE];
  let chunkSize = 128;
  for (let round = 0; round < 40; round++) {
    if (rand(6) === 0) {
      chunkSize = [128, 200, 1000, 4096, 65536][rand(5)]!;
      parts.push(setChunkSize(chunkSize));
      continue;
    }
    // Two messages on two ids, their chunks interleaved the way an encoder mixes audio into a video frame.
    const pair = [ids[rand(ids.length)]!, ids[rand(ids.length)]!];
    if (pair[0] === pair[1]) pair.pop();
    const lists = pair.map((csid) => {
      const fmt = used.has(csid) ? rand(2) : 0;
      used.add(csid);
      const timestamp = rand(4) === 0 ? 0xffffff + rand(1000) : rand(100000);
      // Types nms handles without parsing the payload (abort, ack, user control, peer bandwidth, aggregate).
      const type = [2, 3, 4, 6, 22][rand(5)]!;
      return messageChunks(fmt, csid, { timestamp, type, payload: Buffer.alloc(rand(3000), rand(256)) }, chunkSize);
    });
    while (lists.some((l) => l.length)) {
      const from = lists.filter((l) => l.length)[rand(lists.filter((l) => l.length).length)]!;
      parts.push(from.shift()!);
    }
  }
  return Buffer.concat(parts);
}

/** Feeds `bytes` in random slices to the guard and to nms's parser, checking after each slice that both agree. */
function feedBoth(bytes: Buffer, seed: number, limits = { ...LIMITS, maxMessageBytes: 1 << 24, preauthBytes: Infinity, maxChunkStreams: 100 }) {
  const rand = prng(seed);
  const guard = new RtmpChunkGuard(limits);
  const nms = new NmsRtmp();
  nms.onOutputCallback = () => {};
  for (let p = 0; p < bytes.length; ) {
    const n = 1 + rand(rand(2) ? 20 : 5000);
    const slice = bytes.subarray(p, p + n);
    p += n;
    expect(guard.push(slice)).toEqual({ ok: true });
    nms.parserData(slice);
    const nmsAllocated = [...nms.inPackets.values()].reduce((sum, packet) => sum + packet.capacity, 0);
    // biome-ignore lint/complexity/useLiteralKeys: chunkSize is private; bracket access is how the test reads it past TypeScript
    expect({ chunkSize: guard["chunkSize"], ids: guard.chunkStreams, allocated: guard.allocatedBytes }).toEqual({
      chunkSize: nms.inChunkSize,
      ids: nms.inPackets.size,
      allocated: nmsAllocated,
    });
  }
  return guard;
}

describe("RtmpChunkGuard agrees with node-media-server's parser", () => {
  it("on chunk boundaries, chunk sizes and allocations, for well-formed sessions in any slicing", () => {
    for (let seed = 1; seed <= 40; seed++) feedBoth(randomSession(seed), seed * 7);
  });

  it("on a real publish: ffmpeg 5.1 (1.2 s of H.264 + AAC, captured off the wire) passes the default limits", () => {
    // Captured with ffmpeg -re -t 1.2 ... -f flv rtmp://127.0.0.1:<port>/live/fixture-key against this node.
    const capture = readFileSync(new URL("./fixtures/ffmpeg-publish.rtmp", import.meta.url));
    for (let seed = 1; seed <= 5; seed++) {
      const guard = feedBoth(capture, seed, LIMITS);
      expect(guard.chunkStreams).toBe(5);
      expect(guard.bytesIn).toBe(capture.length);
    }
  });

  it("on zero-length messages and fmt 1/2/3 headers on a fresh chunk stream", () => {
    const bytes = Buffer.concat([
      HANDSHAKE,
      Buffer.from(messageHeader(2, 9, { timestamp: 5, length: 0, type: 0 })),
      Buffer.from(basic(3, 10)),
      Buffer.from(messageHeader(1, 11, { timestamp: 0, length: 0, type: 4 })),
      setChunkSize(4096),
    ]);
    for (let seed = 1; seed <= 10; seed++) feedBoth(bytes, seed);
  });
});

describe("RtmpChunkGuard refuses", () => {
  const attackHeader = (csid: number) => Buffer.from(messageHeader(0, csid, { timestamp: 0, length: 0xffffff, type: 9 }));

  it("a message longer than the limit, before nms could allocate it", () => {
    const guard = new RtmpChunkGuard(LIMITS);
    expect(guard.push(HANDSHAKE)).toEqual({ ok: true });
    const verdict = guard.push(attackHeader(4));
    expect(verdict).toMatchObject({ ok: false, code: "message-too-large" });
    expect(guard.allocatedBytes).toBe(0);
    // Once refused, always refused.
    expect(guard.push(Buffer.from([0]))).toMatchObject({ ok: false, code: "message-too-large" });
  });

  it("the issue's pattern (317 chunk streams of 0xFFFFFF-byte messages, each with one 128-byte chunk) at once", () => {
    const guard = new RtmpChunkGuard({ ...LIMITS, maxMessageBytes: 1 << 24 });
    guard.push(HANDSHAKE);
    const ids = [...Array(62).keys()].map((i) => i + 2).concat([...Array(255).keys()].map((i) => i + 64));
    const attack = Buffer.concat(ids.map((csid) => Buffer.concat([attackHeader(csid), Buffer.alloc(128)])));
    expect(guard.push(attack)).toMatchObject({ ok: false, code: "preauth-budget" });
    // With a budget that would allow it, the chunk stream cap ends it after 8 ids.
    const generous = new RtmpChunkGuard({ maxMessageBytes: 1 << 24, maxChunkStreams: 8, preauthBytes: Infinity });
    generous.push(HANDSHAKE);
    expect(generous.push(attack)).toMatchObject({ ok: false, code: "too-many-chunk-streams" });
    expect(generous.chunkStreams).toBe(8);
  });

  it("a chunk size outside 128..65536, and a Set Chunk Size message too short to hold one", () => {
    for (const size of [0, 1, 127, 65537, 0x7fffffff]) {
      const guard = new RtmpChunkGuard(LIMITS);
      guard.push(HANDSHAKE);
      expect(guard.push(setChunkSize(size)), `size ${size}`).toMatchObject({ ok: false, code: "bad-chunk-size" });
    }
    for (const size of [128, 4096, 65536]) {
      const guard = new RtmpChunkGuard(LIMITS);
      guard.push(HANDSHAKE);
      expect(guard.push(setChunkSize(size)), `size ${size}`).toEqual({ ok: true });
    }
    const short = new RtmpChunkGuard(LIMITS);
    short.push(HANDSHAKE);
    expect(short.push(Buffer.concat(messageChunks(0, 2, { timestamp: 0, type: 1, payload: Buffer.alloc(2) }, 128)))).toMatchObject({
      ok: false,
      code: "bad-chunk-size",
    });
  });

  it("a new message header inside a message (nms would re-read old bytes)", () => {
    const guard = new RtmpChunkGuard(LIMITS);
    guard.push(HANDSHAKE);
    const first = messageChunks(0, 4, { timestamp: 0, type: 9, payload: Buffer.alloc(300) }, 128)[0]!;
    expect(guard.push(first)).toEqual({ ok: true });
    expect(guard.push(Buffer.from(messageHeader(1, 4, { timestamp: 0, length: 2, type: 9 })))).toMatchObject({ ok: false, code: "bad-chunking" });
  });

  it("bytes and allocations past the budget before the publish is authorized, and not after", () => {
    const limits = { ...LIMITS, preauthBytes: 100_000 };
    const body = Buffer.concat(messageChunks(0, 6, { timestamp: 0, type: 9, payload: Buffer.alloc(60_000) }, 128));
    const before = new RtmpChunkGuard(limits);
    before.push(HANDSHAKE);
    expect(before.push(body)).toEqual({ ok: true });
    expect(before.push(body)).toMatchObject({ ok: false, code: "preauth-budget" });

    const after = new RtmpChunkGuard(limits);
    after.push(HANDSHAKE);
    after.authorize();
    for (let i = 0; i < 10; i++) expect(after.push(body)).toEqual({ ok: true });

    // Announcing (not sending) messages also counts: nms allocates their buffers at the header.
    const announced = new RtmpChunkGuard(limits);
    announced.push(HANDSHAKE);
    const headers = [4, 5, 6].map((csid) => Buffer.from(messageHeader(0, csid, { timestamp: 0, length: 40_000, type: 9 })));
    expect(announced.push(Buffer.concat([headers[0]!, Buffer.alloc(128), headers[1]!, Buffer.alloc(128)]))).toEqual({ ok: true });
    expect(announced.push(Buffer.concat([headers[2]!, Buffer.alloc(1)]))).toMatchObject({ ok: false, code: "preauth-budget" });
  });

  it("a first byte other than RTMP version 3", () => {
    const guard = new RtmpChunkGuard(LIMITS);
    expect(guard.push(Buffer.from("GET / HTTP/1.1\r\n"))).toMatchObject({ ok: false, code: "not-rtmp" });
  });
});
