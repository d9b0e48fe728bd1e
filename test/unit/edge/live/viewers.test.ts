import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_SESSIONS, ViewerWindow } from "../../../../edge/src/live/viewers.ts";

describe("ViewerWindow", () => {
  it("counts distinct sessions seen within the last 30 s", () => {
    const viewers = new ViewerWindow();
    viewers.touch("a", 0);
    viewers.touch("b", 10_000);
    viewers.touch("a", 20_000);
    viewers.touch("b", 20_500);
    expect(viewers.count(20_500)).toBe(2);
    expect(viewers.count(49_999)).toBe(2);
    // "a" was last seen at 20 s, "b" at 20.5 s.
    expect(viewers.count(50_000)).toBe(1);
    expect(viewers.count(50_500)).toBe(0);
  });

  it("keeps a session alive while it keeps requesting", () => {
    const viewers = new ViewerWindow({ windowMs: 1000 });
    viewers.touch("once", 0);
    for (let t = 0; t <= 10_000; t += 500) viewers.touch("steady", t);
    expect(viewers.count(10_000)).toBe(1);
  });

  it("never remembers more than maxSessions, forgetting the least recently seen", () => {
    const viewers = new ViewerWindow({ maxSessions: 3 });
    for (const [id, t] of [
      ["a", 1],
      ["b", 2],
      ["c", 3],
      ["a", 4],
      ["d", 5],
    ] as const)
      viewers.touch(id, t);
    expect(viewers.count(5)).toBe(3);
    expect(viewers.toJSON().sessions.map(([id]) => id)).toEqual(["c", "a", "d"]);

    expect(new ViewerWindow().maxSessions).toBe(DEFAULT_MAX_SESSIONS);
    expect(DEFAULT_MAX_SESSIONS).toBe(100_000);
    const many = new ViewerWindow({ maxSessions: 1000 });
    for (let i = 0; i < 5000; i += 1) many.touch(`s${i}`, i);
    expect(many.count(5000)).toBe(1000);
    expect(many.toJSON().sessions[0]).toEqual(["s4000", 4000]);
  });

  it("does not let a clock step backwards hide expired sessions", () => {
    const viewers = new ViewerWindow({ windowMs: 1000 });
    viewers.touch("a", 5000);
    viewers.touch("b", 4000);
    expect(viewers.count(5999)).toBe(2);
    expect(viewers.count(6000)).toBe(0);
  });

  it("cuts very long session ids", () => {
    const viewers = new ViewerWindow();
    viewers.touch("x".repeat(1000), 0);
    viewers.touch(`${"x".repeat(128)}different-tail`, 1);
    expect(viewers.count(1)).toBe(1);
  });

  it("round-trips through JSON", () => {
    const viewers = new ViewerWindow({ windowMs: 5000, maxSessions: 10 });
    viewers.touch("a", 1000);
    viewers.touch("b", 3000);
    const restored = ViewerWindow.fromJSON(JSON.parse(JSON.stringify(viewers)));
    expect(restored.toJSON()).toEqual(viewers.toJSON());
    expect([restored.windowMs, restored.maxSessions]).toEqual([5000, 10]);
    expect(restored.count(6000)).toBe(1);
  });

  it("rejects nonsensical options", () => {
    expect(() => new ViewerWindow({ windowMs: 0 })).toThrow(RangeError);
    expect(() => new ViewerWindow({ maxSessions: 0 })).toThrow(RangeError);
  });
});
