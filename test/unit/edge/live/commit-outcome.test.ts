import { describe, expect, it } from "vitest";
import { commitRefusal } from "../../../../edge/src/live/commit-outcome.ts";

describe("commitRefusal", () => {
  it("answers OK (null) for metadata the window took or already had", () => {
    for (const outcome of ["added", "buffered", "duplicate", "stale", "stale-epoch"] as const) expect(commitRefusal(outcome)).toBeNull();
  });

  it("asks for the init segment, not a 409 (which fences the node), when the rendition or epoch is unknown", () => {
    for (const outcome of ["unknown-rendition", "unknown-epoch"] as const)
      expect(commitRefusal(outcome)).toMatchObject({ ok: false, status: 400, code: "init_required" });
  });

  it("refuses parts without LL-HLS and msns too far ahead as bad requests, and anything after the end as a conflict", () => {
    expect(commitRefusal("not-ll")).toMatchObject({ status: 400, code: "bad_request" });
    expect(commitRefusal("too-far")).toMatchObject({ status: 400, code: "bad_request" });
    expect(commitRefusal("ended")).toMatchObject({ status: 409, code: "conflict" });
  });
});
