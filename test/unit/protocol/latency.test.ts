import { describe, expect, it } from "vitest";
import { timingFor } from "../../../protocol/latency.ts";

describe("timingFor", () => {
  it("gives LL-HLS parts only to the interactive mode", () => {
    expect(timingFor("standard")).toEqual({ segmentTarget: 6, partTarget: null });
    expect(timingFor("low")).toEqual({ segmentTarget: 2, partTarget: null });
    expect(timingFor("interactive")).toEqual({ segmentTarget: 2, partTarget: 0.5 });
  });

  it("clamps a part target override to 0.2 s and ignores it for modes without parts", () => {
    expect(timingFor("interactive", 0.05).partTarget).toBe(0.2);
    expect(timingFor("interactive", 0.3).partTarget).toBe(0.3);
    expect(timingFor("low", 0.3).partTarget).toBeNull();
  });
});
