import { afterEach, describe, expect, it, vi } from "vitest";
import type { PlaylistAnswer } from "../../../../edge/src/live/playlist-answer.ts";
import { playlistRequestKey, PlaylistCoalescer } from "../../../../edge/src/live/playlist-coalescer.ts";

const ok = (body: string): PlaylistAnswer => ({ status: 200, body, headers: { "content-type": "application/vnd.apple.mpegurl" } });

/** A call that resolves when the test says so, counting how often it was made. */
function controllableCall() {
  let calls = 0;
  let release: (answer: PlaylistAnswer) => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const call = () => {
    calls += 1;
    return new Promise<PlaylistAnswer>((resolve, reject) => {
      release = resolve;
      fail = reject;
    });
  };
  return { call, calls: () => calls, release: (a: PlaylistAnswer) => release(a), fail: (e: Error) => fail(e) };
}

afterEach(() => vi.useRealTimers());

describe("PlaylistCoalescer", () => {
  it("makes one call for concurrent requests with the same key and gives every one its answer", async () => {
    const coalescer = new PlaylistCoalescer();
    const upstream = controllableCall();
    const kept: Promise<unknown>[] = [];
    let followed = 0;
    const answers = Array.from({ length: 50 }, () =>
      coalescer.answer(
        "k",
        upstream.call,
        (p) => kept.push(p),
        () => (followed += 1),
      ),
    );
    expect(upstream.calls()).toBe(1);
    expect(followed).toBe(49);
    expect(coalescer.followers).toBe(49);
    expect(kept).toHaveLength(1);
    upstream.release(ok("#EXTM3U part 3"));
    for (const answer of await Promise.all(answers)) expect(answer.body).toBe("#EXTM3U part 3");
    expect(coalescer.followers).toBe(0);
  });

  it("keeps different keys apart", async () => {
    const coalescer = new PlaylistCoalescer();
    const a = controllableCall();
    const b = controllableCall();
    const first = coalescer.answer("a", a.call, () => undefined);
    const second = coalescer.answer("b", b.call, () => undefined);
    expect(a.calls() + b.calls()).toBe(2);
    a.release(ok("A"));
    b.release(ok("B"));
    expect((await first).body).toBe("A");
    expect((await second).body).toBe("B");
  });

  it("serves a 200 answer to late arrivals for a short while, then calls again", async () => {
    let now = 1_000;
    const coalescer = new PlaylistCoalescer({ lingerMs: 200, now: () => now });
    const upstream = controllableCall();
    const first = coalescer.answer("k", upstream.call, () => undefined);
    upstream.release(ok("v1"));
    await first;
    now += 150;
    expect((await coalescer.answer("k", upstream.call, () => undefined)).body).toBe("v1");
    expect(upstream.calls()).toBe(1);
    now += 100;
    const again = coalescer.answer("k", upstream.call, () => undefined);
    expect(upstream.calls()).toBe(2);
    upstream.release(ok("v2"));
    expect((await again).body).toBe("v2");
  });

  it("keeps no answer when told not to linger (plain reloads): the next request calls again", async () => {
    const coalescer = new PlaylistCoalescer({ lingerMs: 10_000 });
    const upstream = controllableCall();
    const first = coalescer.answer("k", upstream.call, () => undefined, undefined, false);
    const shared = coalescer.answer("k", upstream.call, () => undefined, undefined, false);
    expect(upstream.calls()).toBe(1);
    upstream.release(ok("v1"));
    expect((await first).body).toBe("v1");
    expect((await shared).body).toBe("v1");
    void coalescer.answer("k", upstream.call, () => undefined, undefined, false);
    expect(upstream.calls()).toBe(2);
  });

  it("does not keep problem answers (a 503 is retried by the next request)", async () => {
    const coalescer = new PlaylistCoalescer({ lingerMs: 10_000 });
    const upstream = controllableCall();
    const first = coalescer.answer("k", upstream.call, () => undefined);
    upstream.release({ status: 503, body: "late", headers: {} });
    expect((await first).status).toBe(503);
    void coalescer.answer("k", upstream.call, () => undefined);
    expect(upstream.calls()).toBe(2);
  });

  it("passes a failed call on to every request that shared it", async () => {
    const coalescer = new PlaylistCoalescer();
    const upstream = controllableCall();
    const leader = coalescer.answer("k", upstream.call, () => undefined);
    const follower = coalescer.answer("k", upstream.call, () => undefined);
    upstream.fail(new Error("object reset"));
    await expect(leader).rejects.toThrow("object reset");
    await expect(follower).rejects.toThrow("object reset");
  });

  it("lets a follower ask for itself when its leader's call never settles", async () => {
    vi.useFakeTimers();
    const coalescer = new PlaylistCoalescer({ fallbackMs: 1000 });
    const stuck = controllableCall();
    void coalescer.answer("k", stuck.call, () => undefined);
    const own = vi.fn(async () => ok("own"));
    const follower = coalescer.answer("k", own, () => undefined);
    await vi.advanceTimersByTimeAsync(999);
    expect(own).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect((await follower).body).toBe("own");
  });
});

describe("PlaylistCoalescer limits", () => {
  it("answers blocking requests past maxHeld waiting ones 503 with Retry-After, without calling upstream", async () => {
    const coalescer = new PlaylistCoalescer({ maxHeld: 3 });
    const a = controllableCall();
    const b = controllableCall();
    const waiting = [
      coalescer.answer("a", a.call, () => undefined),
      coalescer.answer("a", a.call, () => undefined),
      coalescer.answer("b", b.call, () => undefined),
    ];
    expect(coalescer.held).toBe(3);
    const over = vi.fn(async () => ok("never"));
    const refused = await coalescer.answer("c", over, () => undefined);
    expect(refused.status).toBe(503);
    expect(refused.headers["retry-after"]).toBe("1");
    expect(over).not.toHaveBeenCalled();
    // Plain reloads (no linger) are answered at once upstream: not held, not refused.
    expect(
      (
        await coalescer.answer(
          "plain",
          async () => ok("plain"),
          () => undefined,
          undefined,
          false,
        )
      ).status,
    ).toBe(200);
    a.release(ok("a"));
    b.release(ok("b"));
    await Promise.all(waiting);
    expect(coalescer.held).toBe(0);
    expect((await coalescer.answer("c", over, () => undefined)).body).toBe("never");
  });

  it("frees a place when an upstream call fails", async () => {
    const coalescer = new PlaylistCoalescer({ maxHeld: 1 });
    const a = controllableCall();
    const first = coalescer.answer("a", a.call, () => undefined);
    a.fail(new Error("gone"));
    await expect(first).rejects.toThrow("gone");
    expect(coalescer.held).toBe(0);
  });
});

describe("playlistRequestKey", () => {
  it("depends only on what the answer depends on", () => {
    const key = (query: string) => playlistRequestKey("s1", "360p", new URLSearchParams(query));
    expect(key("")).toBe(key("vsid=abc"));
    expect(key("")).not.toBe(key("_HLS_msn=5"));
    expect(key("_HLS_msn=5&_HLS_part=2&vsid=a")).toBe(key("_HLS_part=2&vsid=b&_HLS_msn=5"));
    expect(key("_HLS_msn=5&_HLS_part=2")).not.toBe(key("_HLS_msn=5&_HLS_part=3"));
    expect(key("_HLS_msn=5&_HLS_part=2")).not.toBe(key("_HLS_msn=5&_HLS_part=2&_HLS_skip=YES"));
    // A signed stream's token is added per answer at the edge: viewers with different tokens share one key.
    expect(key("_HLS_msn=5&token=a")).toBe(key("_HLS_msn=5&token=b"));
    expect(playlistRequestKey("s2", "360p", new URLSearchParams("_HLS_msn=5"))).not.toBe(key("_HLS_msn=5"));
    // One key however the same directives are spelled (a decimal-integer may have leading zeros, §4.2).
    expect(key("_HLS_msn=0005")).toBe(key("_HLS_msn=5"));
    expect(key("_HLS_msn=05&_HLS_part=002&_HLS_skip=v2")).toBe(key("_HLS_msn=5&_HLS_part=2&_HLS_skip=YES"));
    // Directives that do not parse keep their own key (they share their 400), apart from every valid one.
    expect(key("_HLS_msn=-5")).not.toBe(key("_HLS_msn=5"));
    expect(key("_HLS_part=2")).not.toBe(key(""));
  });
});
