// Range headers of assembled responses (MP4 downloads): one range, suffixes, open ends, what is ignored and what is 416.
import { describe, expect, it } from "vitest";
import { parseRange } from "../../../../edge/src/http/byte-range.ts";
import { attachmentDisposition } from "../../../../edge/src/http/content-disposition.ts";

describe("parseRange", () => {
  it("reads one range, an open end and a suffix, clamped to the body", () => {
    expect(parseRange("bytes=0-99", 1000)).toEqual({ kind: "partial", start: 0, end: 99 });
    expect(parseRange("bytes=900-", 1000)).toEqual({ kind: "partial", start: 900, end: 999 });
    expect(parseRange("bytes=900-5000", 1000)).toEqual({ kind: "partial", start: 900, end: 999 });
    expect(parseRange("bytes=-100", 1000)).toEqual({ kind: "partial", start: 900, end: 999 });
    expect(parseRange("bytes=-5000", 1000)).toEqual({ kind: "partial", start: 0, end: 999 });
    expect(parseRange("BYTES = 5 - 5", 1000)).toEqual({ kind: "partial", start: 5, end: 5 });
  });

  it("answers the whole body for no header, bad syntax, several ranges or a reversed range", () => {
    for (const header of [null, undefined, "", "bytes=", "bytes=-", "items=0-1", "bytes=0-1,5-6", "bytes=9-3", "bytes=a-b"]) {
      expect(parseRange(header, 1000), String(header)).toEqual({ kind: "full" });
    }
  });

  it("is unsatisfiable past the end, for an empty suffix and for an empty body", () => {
    expect(parseRange("bytes=1000-", 1000)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=1000-2000", 1000)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=-0", 1000)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=-10", 0)).toEqual({ kind: "unsatisfiable" });
  });
});

describe("attachmentDisposition", () => {
  it("quotes only safe ASCII, encodes the UTF-8 name, and falls back to the id", () => {
    expect(attachmentDisposition('a"b\\c\r\nd', "id", "720p", "mp4")).toBe(`attachment; filename="a_b_c_d-720p.mp4"; filename*=UTF-8''a%22b_c_d-720p.mp4`);
    expect(attachmentDisposition("Café (live)", "id", "720p", "mp4")).toBe(
      `attachment; filename="Cafe _live-720p.mp4"; filename*=UTF-8''Caf%C3%A9%20%28live%29-720p.mp4`,
    );
    expect(attachmentDisposition("日本", "0b8c", "source", "mp4")).toBe(
      `attachment; filename="0b8c-source.mp4"; filename*=UTF-8''%E6%97%A5%E6%9C%AC-source.mp4`,
    );
    expect(attachmentDisposition(null, "0b8c", "360p", "mp4")).toBe(`attachment; filename="0b8c-360p.mp4"; filename*=UTF-8''0b8c-360p.mp4`);
    expect(attachmentDisposition("x".repeat(300), "id", "360p", "mp4")).toMatch(/^attachment; filename="x{100}-360p\.mp4"/);
  });
});
