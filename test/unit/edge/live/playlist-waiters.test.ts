import { afterEach, describe, expect, it, vi } from "vitest";
import { PlaylistWaiters } from "../../../../edge/src/live/playlist-waiters.ts";

describe("PlaylistWaiters", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it("releases a ready request on notify and leaves its timer to fire instead of clearing it", async () => {
    // workerd keeps a cleared timer's entry until the Durable Object is evicted, so a released request must not clear.
    vi.useFakeTimers();
    const cleared = vi.spyOn(globalThis, "clearTimeout");
    const waiters = new PlaylistWaiters();
    let ready = false;
    const held = waiters.wait(() => ready, 5_000);
    const other = waiters.wait(() => false, 5_000);
    expect(waiters.size).toBe(2);
    ready = true;
    waiters.notify();
    expect(await held).toBe(true);
    expect(waiters.size).toBe(1);
    expect(cleared).not.toHaveBeenCalled();
    // The released request's timer fires later and changes nothing; the other one times out as before.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await other).toBe(false);
    expect(waiters.size).toBe(0);
  });
});
