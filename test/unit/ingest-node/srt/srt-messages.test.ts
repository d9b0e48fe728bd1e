import { describe, expect, it } from "vitest";
import { decodeVerdict, encodeVerdict } from "../../../../ingest-node/src/srt/srt-messages.ts";

describe("the SRT key-check verdict slot", () => {
  it("encodes verdicts as negatives (never a pending request id) and decodes them back", () => {
    expect(encodeVerdict(null)).toBe(-1);
    expect(decodeVerdict(encodeVerdict(null))).toBe(0);
    for (const reason of [1403, 1409, 1503]) {
      expect(encodeVerdict(reason)).toBeLessThan(0);
      expect(decodeVerdict(encodeVerdict(reason))).toBe(reason);
    }
  });
});
