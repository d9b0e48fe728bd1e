import { describe, expect, it } from "vitest";
import type { Box } from "../../../../ingest-node/src/packager/box-reader.ts";
import { BoxReader } from "../../../../ingest-node/src/packager/box-reader.ts";
import { PackagerError } from "../../../../ingest-node/src/packager/errors.ts";
import { ascii, box, bytes, largeBox, u32 } from "./mp4-builder.ts";

const summary = (boxes: Box[]) => boxes.map((b) => [b.type, b.size, b.headerSize, Array.from(b.bytes)]);

function readAll(stream: Uint8Array, chunkSize: number): Box[] {
  const reader = new BoxReader();
  const out: Box[] = [];
  for (let at = 0; at < stream.byteLength; at += chunkSize) {
    out.push(...reader.push(stream.subarray(at, at + chunkSize)));
  }
  out.push(...reader.end());
  return out;
}

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof PackagerError) return error.code;
    throw error;
  }
  throw new Error("expected a PackagerError");
}

describe("BoxReader", () => {
  const stream = bytes(box("ftyp", ascii("iso6")), largeBox("mdat", Uint8Array.of(1, 2, 3)), box("free"), box("moof", u32(7)));

  it("returns whole boxes, 64-bit largesize included, whatever the chunking", () => {
    const whole = readAll(stream, stream.byteLength);
    expect(whole.map((b) => [b.type, b.size, b.headerSize])).toEqual([
      ["ftyp", 12, 8],
      ["mdat", 19, 16],
      ["free", 8, 8],
      ["moof", 12, 8],
    ]);
    expect(bytes(...whole.map((b) => b.bytes))).toEqual(stream);
    for (const size of [1, 2, 3, 7, 9, 15, 16, 17]) expect(summary(readAll(stream, size))).toEqual(summary(whole));
  });

  it("returns a box that lies inside one chunk as a view of it (no copy), one spread over chunks as a copy", () => {
    const reader = new BoxReader();
    const [ftyp, mdat] = reader.push(stream.subarray(0, 31));
    expect(ftyp!.bytes.buffer).toBe(stream.buffer);
    expect(mdat!.bytes.buffer).toBe(stream.buffer);
    expect(reader.buffered).toBe(0);
    const [free] = reader.push(stream.subarray(31, 35));
    expect(free).toBeUndefined();
    const [joined] = reader.push(stream.subarray(35, 39));
    expect(joined!.bytes.buffer).not.toBe(stream.buffer);
    expect(Array.from(joined!.bytes)).toEqual(Array.from(stream.subarray(31, 39)));
  });

  it("buffers only the unfinished box and reports the stream offset", () => {
    const reader = new BoxReader();
    expect(reader.push(stream.subarray(0, 14))).toHaveLength(1);
    expect(reader.buffered).toBe(2);
    expect(reader.offset).toBe(12);
  });

  it("emits a final size-0 box (runs to the end of the stream) on end()", () => {
    const reader = new BoxReader();
    expect(reader.push(bytes(box("free"), u32(0), ascii("mdat"), Uint8Array.of(9, 9)))).toHaveLength(1);
    const [last] = reader.end();
    expect([last?.type, last?.size]).toEqual(["mdat", 10]);
  });

  it("throws stable codes on malformed input", () => {
    expect(codeOf(() => new BoxReader().push(bytes(u32(7), ascii("free"))))).toBe("BOX_TOO_SMALL");
    expect(codeOf(() => new BoxReader().push(bytes(u32(1), ascii("mdat"), u32(0), u32(15))))).toBe("BOX_TOO_SMALL");
    expect(codeOf(() => new BoxReader().push(Uint8Array.of(0, 0, 0, 9, 0xff, 0, 1, 2, 3)))).toBe("MALFORMED_BOX");
    expect(codeOf(() => new BoxReader({ maxBoxSize: 100 }).push(bytes(u32(101), ascii("mdat"))))).toBe("BOX_TOO_LARGE");
    const truncated = new BoxReader();
    truncated.push(bytes(u32(20), ascii("moof"), u32(0)));
    expect(codeOf(() => truncated.end())).toBe("TRUNCATED");
    const header = new BoxReader();
    header.push(Uint8Array.of(0, 0));
    expect(codeOf(() => header.end())).toBe("TRUNCATED");
    const ended = new BoxReader();
    ended.end();
    expect(codeOf(() => ended.push(box("free")))).toBe("PUSH_AFTER_END");
  });
});
