import { afterEach, describe, expect, it, vi } from "vitest";
import { RegionViewerCounts, RelaySessions, RelayViewerCounts } from "../../../../edge/src/live/relay-viewers.ts";

afterEach(() => vi.useRealTimers());

describe("RelayViewerCounts", () => {
  it("adds up the latest count of every relay, forgets a relay silent for a viewer window, ignores nonsense", () => {
    const counts = new RelayViewerCounts(30_000);
    counts.report("AAA", 400, 0);
    counts.report("BBB", 250, 1_000);
    counts.report("AAA", 420, 2_000); // replaces, never adds
    expect(counts.total(2_000)).toBe(670);
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) counts.report("CCC", bad, 2_000);
    counts.report("x".repeat(129), 5, 2_000);
    expect(counts.total(2_000)).toBe(670);
    expect(counts.total(31_500)).toBe(420); // BBB last reported at 1 s
    expect(counts.total(32_001)).toBe(0);
  });
});

describe("RelaySessions", () => {
  it("counts distinct sessions and sends one report per period however many requests come", async () => {
    vi.useFakeTimers();
    const sessions = new RelaySessions(500);
    const sent: number[] = [];
    const kept: Promise<unknown>[] = [];
    const send = async (viewers: number) => {
      sent.push(viewers);
    };
    for (let i = 0; i < 1000; i += 1) sessions.note([`viewer-${i % 300}`], Date.now(), send, (p) => kept.push(p));
    sessions.note(["", "viewer-0"], Date.now(), send, (p) => kept.push(p));
    expect(sessions.count(Date.now())).toBe(300);
    expect(kept).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toEqual([300]);
    // The next change opens the next report.
    sessions.note(["viewer-new"], Date.now(), send, (p) => kept.push(p));
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toEqual([300, 301]);
    expect(kept).toHaveLength(2);
  });

  it("leaves a report out when a call made since the change carried the same count, and sends it when the count moved on", async () => {
    vi.useFakeTimers();
    const sessions = new RelaySessions(500);
    const sent: number[] = [];
    const send = async (viewers: number) => {
      sent.push(viewers);
    };
    const keep = () => undefined;
    sessions.note(["a", "b"], Date.now(), send, keep);
    expect(sessions.carried(Date.now())).toBe(2); // a playlist or follow call upward carries 2
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toEqual([]);
    // Carried before the next change: that change still goes out.
    sessions.carried(Date.now());
    await vi.advanceTimersByTimeAsync(10);
    sessions.note(["c"], Date.now(), send, keep);
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toEqual([3]);
    // Carried after the change, but a viewer came after that call: the report says 5.
    sessions.note(["d"], Date.now(), send, keep);
    sessions.carried(Date.now());
    sessions.note(["e"], Date.now(), send, keep);
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toEqual([3, 5]);
  });
});

describe("RegionViewerCounts", () => {
  it("sends no report while its calls to the stream's object carry the sum", async () => {
    vi.useFakeTimers();
    const region = new RegionViewerCounts(500, 30_000);
    const sent: number[] = [];
    const send = async (viewers: number) => {
      sent.push(viewers);
    };
    region.note("loc-0", 20, Date.now(), send, () => undefined);
    region.note("loc-1", 50, Date.now(), send, () => undefined);
    expect(region.carried(Date.now())).toBe(70);
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toEqual([]);
    region.note("loc-1", 51, Date.now(), send, () => undefined);
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toEqual([71]);
  });
});
