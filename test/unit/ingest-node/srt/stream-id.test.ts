import { describe, expect, it } from "vitest";
import { parseStreamId } from "../../../../ingest-node/src/srt/stream-id.ts";

describe("parseStreamId", () => {
  it("takes a bare key, the access-control form and live/<key>", () => {
    expect(parseStreamId("sk_abc-DEF_123")).toEqual({ ok: true, key: "sk_abc-DEF_123" });
    expect(parseStreamId("#!::r=sk_abc,m=publish")).toEqual({ ok: true, key: "sk_abc" });
    expect(parseStreamId("#!::m=publish,r=sk_abc")).toEqual({ ok: true, key: "sk_abc" });
    expect(parseStreamId("#!::r=sk_abc")).toEqual({ ok: true, key: "sk_abc" });
    expect(parseStreamId("#!::u=alice,r=sk_abc,m=publish")).toEqual({ ok: true, key: "sk_abc" });
    expect(parseStreamId("live/sk_abc")).toEqual({ ok: true, key: "sk_abc" });
  });

  it("refuses a caller asking to play, or both", () => {
    expect(parseStreamId("#!::r=sk_abc,m=request")).toEqual({ ok: false, problem: "not-publish" });
    expect(parseStreamId("#!::r=sk_abc,m=bidirectional")).toEqual({ ok: false, problem: "not-publish" });
  });

  it("refuses empty, malformed and oversized streamids", () => {
    expect(parseStreamId(null)).toEqual({ ok: false, problem: "empty" });
    expect(parseStreamId("")).toEqual({ ok: false, problem: "empty" });
    expect(parseStreamId("#!::m=publish")).toEqual({ ok: false, problem: "empty" });
    expect(parseStreamId("#!::r=")).toEqual({ ok: false, problem: "empty" });
    expect(parseStreamId("#!::r=a,r=b")).toEqual({ ok: false, problem: "malformed" });
    expect(parseStreamId("#!::garbage")).toEqual({ ok: false, problem: "malformed" });
    expect(parseStreamId("sk abc")).toEqual({ ok: false, problem: "malformed" });
    expect(parseStreamId("sk_\u00e9")).toEqual({ ok: false, problem: "malformed" });
    expect(parseStreamId(`sk_${"a".repeat(600)}`)).toEqual({ ok: false, problem: "malformed" });
  });
});
