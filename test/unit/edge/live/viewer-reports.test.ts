import { afterEach, describe, expect, it, vi } from "vitest";
import { ViewerReports } from "../../../../edge/src/live/viewer-reports.ts";

afterEach(() => vi.useRealTimers());

describe("ViewerReports", () => {
  it("sends each stream's sessions in one batch after the delay", async () => {
    vi.useFakeTimers();
    const reports = new ViewerReports(500);
    const sent: [string, string[]][] = [];
    const send = async (id: string, sessions: string[]) => void sent.push([id, sessions]);
    const kept: Promise<unknown>[] = [];
    for (const session of ["v:a", "v:b", "v:a", "v:c"]) reports.note("s1", session, send, (p) => kept.push(p));
    reports.note("s2", "v:z", send, (p) => kept.push(p));
    expect(kept).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(499);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toEqual([
      ["s1", ["v:a", "v:b", "v:c"]],
      ["s2", ["v:z"]],
    ]);
    // The next note opens a new batch.
    reports.note("s1", "v:d", send, (p) => kept.push(p));
    await vi.advanceTimersByTimeAsync(500);
    expect(sent.at(-1)).toEqual(["s1", ["v:d"]]);
  });

  it("sends a full batch at once and never sends a session twice", async () => {
    vi.useFakeTimers();
    const reports = new ViewerReports(500);
    const sent: string[][] = [];
    const send = async (_id: string, sessions: string[]) => void sent.push(sessions);
    for (let i = 0; i <= 5000; i++) reports.note("s1", `v:${i}`, send, () => undefined);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toHaveLength(5000);
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual(["v:5000"]);
  });

  it("swallows a failed send (the count is best effort)", async () => {
    vi.useFakeTimers();
    const reports = new ViewerReports(10);
    const kept: Promise<unknown>[] = [];
    reports.note(
      "s1",
      "v:a",
      async () => Promise.reject(new Error("object gone")),
      (p) => kept.push(p),
    );
    await vi.advanceTimersByTimeAsync(10);
    await expect(Promise.all(kept)).resolves.toBeDefined();
  });
});
