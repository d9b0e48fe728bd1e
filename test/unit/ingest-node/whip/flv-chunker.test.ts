import { describe, expect, it } from "vitest";
import { FlvChunkError, FlvChunker } from "../../../../ingest-node/src/whip/flv-chunker.ts";

const header = Buffer.from([0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0]);

function tag(type: number, payload: number[]): Buffer {
  const size = payload.length;
  const head = Buffer.from([type, size >> 16, (size >> 8) & 0xff, size & 0xff, 0, 0, 0, 0, 0, 0, 0]);
  const prev = Buffer.alloc(4);
  prev.writeUInt32BE(11 + size);
  return Buffer.concat([head, Buffer.from(payload), prev]);
}

describe("FlvChunker", () => {
  it("gives the header, then whole tags with their PreviousTagSize, whatever the slicing", () => {
    const stream = Buffer.concat([header, tag(9, [0x17, 0, 1, 2]), tag(8, [0xaf, 1, 9])]);
    for (const step of [1, 3, 7, stream.length]) {
      const chunker = new FlvChunker();
      const out: Buffer[] = [];
      for (let at = 0; at < stream.length; at += step) out.push(...chunker.push(stream.subarray(at, at + step)));
      expect(out.map((b) => b.length)).toEqual([13, 19, 18]);
      expect(Buffer.concat(out).equals(stream)).toBe(true);
      expect(chunker.pendingBytes).toBe(0);
    }
  });

  it("refuses bytes that are not FLV, and a tag over the bound", () => {
    expect(() => new FlvChunker().push(Buffer.from("not an flv file at all"))).toThrow(FlvChunkError);
    const chunker = new FlvChunker(100);
    expect(chunker.push(header)).toHaveLength(1);
    expect(() => chunker.push(tag(9, new Array(101).fill(0)))).toThrow(/101 bytes/);
  });
});
