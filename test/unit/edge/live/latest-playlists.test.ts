import { describe, expect, it } from "vitest";
import { LatestPlaylists, stalenessBoundMs } from "../../../../edge/src/live/latest-playlists.ts";
import type { PlaylistAnswer } from "../../../../edge/src/live/playlist-answer.ts";

const LL = (msn: number): PlaylistAnswer => ({
  status: 200,
  body: `#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n#EXT-X-PART-INF:PART-TARGET=0.500\n#EXT-X-MEDIA-SEQUENCE:${msn}\n`,
  headers: {},
});
const PLAIN = (msn: number, target = 6): PlaylistAnswer => ({
  status: 200,
  body: `#EXTM3U\n#EXT-X-VERSION:8\n#EXT-X-TARGETDURATION:${target}\n#EXT-X-MEDIA-SEQUENCE:${msn}\n`,
  headers: {},
});

/** A clock the test moves, and an upstream that answers what the test says, counting calls. */
function setup(maxStalenessMs = 500) {
  let now = 1_000;
  let calls = 0;
  const pending: Array<(a: PlaylistAnswer) => void> = [];
  const latest = new LatestPlaylists({ maxStalenessMs, now: () => now });
  const call = () => {
    calls += 1;
    return new Promise<PlaylistAnswer>((resolve) => pending.push(resolve));
  };
  const ask = (key = "k", onShared?: () => void) => latest.answer(key, call, () => undefined, onShared);
  return { ask, calls: () => calls, release: (a: PlaylistAnswer) => pending.shift()!(a), advance: (ms: number) => (now += ms) };
}

describe("stalenessBoundMs", () => {
  it("is half a part target for LL-HLS, a quarter target otherwise, never above the setting", () => {
    expect(stalenessBoundMs(LL(0), 500)).toBe(250);
    expect(stalenessBoundMs(PLAIN(0, 1), 500)).toBe(250);
    expect(stalenessBoundMs(PLAIN(0, 6), 500)).toBe(500);
    expect(stalenessBoundMs(PLAIN(0, 6), 100)).toBe(100);
    expect(stalenessBoundMs({ status: 404, body: "no", headers: {} }, 300)).toBe(300);
  });
});

describe("LatestPlaylists", () => {
  it("makes one upstream call per staleness bound however many requests come, and shares the call in flight", async () => {
    const t = setup();
    let shared = 0;
    const first = Array.from({ length: 20 }, () => t.ask("k", () => (shared += 1)));
    expect(t.calls()).toBe(1);
    t.release(LL(5));
    for (const a of await Promise.all(first)) expect(a.body).toContain("SEQUENCE:5");
    // Within the bound (250 ms for a 0.5 s part target): kept.
    t.advance(250);
    expect((await t.ask("k", () => (shared += 1))).body).toContain("SEQUENCE:5");
    expect(t.calls()).toBe(1);
    expect(shared).toBe(20);
    // Past it: a new call, whose answer replaces the kept one.
    t.advance(1);
    const next = t.ask();
    expect(t.calls()).toBe(2);
    t.release(LL(6));
    expect((await next).body).toContain("SEQUENCE:6");
    expect((await t.ask()).body).toContain("SEQUENCE:6");
    expect(t.calls()).toBe(2);
  });

  it("never serves an answer older than its bound, and an older call's late answer never replaces a newer one", async () => {
    const t = setup();
    const slow = t.ask();
    // The call in flight is older than the bound: a new request makes its own.
    t.advance(600);
    const fast = t.ask();
    expect(t.calls()).toBe(2);
    t.release(PLAIN(7)); // the slow call's answer arrives first
    t.release(PLAIN(8));
    expect((await slow).body).toContain("SEQUENCE:7");
    expect((await fast).body).toContain("SEQUENCE:8");
    expect((await t.ask()).body).toContain("SEQUENCE:8");
    expect(t.calls()).toBe(2);
  });

  it("keeps keys apart, keeps refusals but not 503s, and keeps nothing with a bound of 0", async () => {
    const t = setup();
    const a = t.ask("a");
    const b = t.ask("b");
    expect(t.calls()).toBe(2);
    t.release({ status: 400, body: "bad", headers: {} });
    t.release({ status: 503, body: "late", headers: {} });
    await Promise.all([a, b]);
    expect((await t.ask("a")).status).toBe(400);
    expect(t.calls()).toBe(2);
    const again = t.ask("b");
    expect(t.calls()).toBe(3);
    t.release(PLAIN(1));
    await again;

    const off = setup(0);
    const first = off.ask();
    off.release(PLAIN(1));
    await first;
    const second = off.ask();
    expect(off.calls()).toBe(2);
    off.release(PLAIN(2));
    expect((await second).body).toContain("SEQUENCE:2");
  });

  it("with a share of the bound, keeps answers that long; keeping() dates an answer by when its call was made", async () => {
    let now = 0;
    const isolate = new LatestPlaylists({ maxStalenessMs: 500, share: 0.5, now: () => now });
    let release: (a: PlaylistAnswer) => void = () => undefined;
    const call = isolate.keeping("k", () => new Promise<PlaylistAnswer>((resolve) => (release = resolve)));
    const pending = call();
    expect(isolate.fresh("k")).toBeNull();
    now = 100; // the answer arrives 100 ms after the call was made: it may serve until 250 ms (half of 500)
    release(PLAIN(3));
    await pending;
    now = 250;
    expect(isolate.fresh("k")?.body).toContain("SEQUENCE:3");
    now = 251;
    expect(isolate.fresh("k")).toBeNull();
  });

  it("forgets a failed call so the next request tries again", async () => {
    let calls = 0;
    const latest = new LatestPlaylists();
    const failing = () => {
      calls += 1;
      return Promise.reject(new Error("object unreachable"));
    };
    await expect(latest.answer("k", failing, () => undefined)).rejects.toThrow("unreachable");
    await expect(latest.answer("k", failing, () => undefined)).rejects.toThrow("unreachable");
    expect(calls).toBe(2);
  });
});
