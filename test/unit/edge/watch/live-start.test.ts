import { describe, expect, it } from "vitest";
import { holdBackOf, longEnoughToStart } from "../../../../edge/web/src/live-start.ts";

describe("longEnoughToStart", () => {
  it("waits until a young live playlist spans three target durations", () => {
    expect(longEnoughToStart({ live: true, totalduration: 2, targetduration: 2 })).toBe(false);
    expect(longEnoughToStart({ live: true, totalduration: 5.98, targetduration: 2 })).toBe(false);
    expect(longEnoughToStart({ live: true, totalduration: 6.01, targetduration: 2 })).toBe(true);
    expect(longEnoughToStart({ live: true, totalduration: 17, targetduration: 6 })).toBe(false);
  });

  it("uses the playlist's HOLD-BACK when it has one, and starts a finished playlist at once", () => {
    expect(holdBackOf({ live: true, totalduration: 0, targetduration: 2, holdBack: 8 })).toBe(8);
    expect(holdBackOf({ live: true, totalduration: 0, targetduration: 2, holdBack: 0 })).toBe(6);
    expect(longEnoughToStart({ live: true, totalduration: 7, targetduration: 2, holdBack: 8 })).toBe(false);
    expect(longEnoughToStart({ live: false, totalduration: 2, targetduration: 2 })).toBe(true);
  });
});
