import { describe, expect, it } from "vitest";
import type { PlaylistAnswer } from "../../../../edge/src/live/playlist-answer.ts";
import { type FollowAnswer, followHoldMs, listsPart, PlaylistFollows } from "../../../../edge/src/live/relay-follow.ts";

const playlist = (n: number, ended = false): PlaylistAnswer => ({
  status: 200,
  body: `#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:${n}\nseg-${n}.m4s\n${ended ? "#EXT-X-ENDLIST\n" : ""}`,
  headers: {},
});

/** A fake object: follow calls wait until the test publishes a playlist other than the one they know, or confirms. */
class FakeObject {
  current = playlist(1);
  calls: string[] = [];
  holds: number[] = [];
  #waiting: Array<{ known: string; resolve: (a: FollowAnswer) => void; reject: (e: Error) => void }> = [];
  follow = (known: string, holdMs: number): Promise<FollowAnswer> => {
    this.calls.push(known);
    this.holds.push(holdMs);
    if (known !== this.current.body) return Promise.resolve({ ...this.current, heldMs: 0 });
    return new Promise((resolve, reject) => this.#waiting.push({ known, resolve, reject }));
  };
  /** A new playlist, answered to the held calls after `heldMs` of holding. */
  publish(answer: PlaylistAnswer, heldMs = 0): void {
    this.current = answer;
    this.confirm(heldMs);
  }
  /** Answers the held calls with the current playlist, saying they were held `heldMs`. */
  confirm(heldMs: number): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const w of waiting) w.resolve({ ...this.current, heldMs });
  }
  fail(): void {
    for (const w of this.#waiting.splice(0)) w.reject(new Error("object reset"));
  }
  get held(): number {
    return this.#waiting.length;
  }
}

const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
/** A relay's share of the bound: 250 ms for every playlist here. */
const trustMs = () => 250;

describe("PlaylistFollows", () => {
  it("answers reloads from the followed playlist with one call per playlist update, however many reloads come", async () => {
    let now = 0;
    const follows = new PlaylistFollows({ trustMs, idleMs: 6000, now: () => now });
    const object = new FakeObject();
    expect(follows.current("k")).toBeNull();
    follows.follow("k", playlist(1), object.follow, () => undefined);
    follows.follow("k", playlist(1), object.follow, () => undefined); // already followed: no second call
    expect(object.held).toBe(1);
    // The playlist it started from came from a call made at an unknown time: not served until the object confirms it.
    expect(follows.current("k")).toBeNull();
    for (let update = 2; update <= 6; update += 1) {
      now += 200;
      object.publish(playlist(update), 200);
      await flush();
      for (let reload = 0; reload < 1000; reload += 1) expect(follows.current("k")?.body).toBe(object.current.body);
    }
    // The first call, then one renewal per update: 6 calls for 5 updates and 5,000 reloads; each asks for a hold of one
    // update interval (these playlists name no target: the least hold), so unchanged answers come only from a late stream.
    expect(object.calls).toHaveLength(6);
    expect(object.holds.every((h) => h === 100)).toBe(true);
    expect(followHoldMs(LL(1))).toBe(500);
    expect(followHoldMs({ status: 200, body: "#EXTM3U\n#EXT-X-TARGETDURATION:6\n", headers: {} })).toBe(6000);
  });

  it("serves a followed playlist only for its share of the bound after the object last had it, and nothing from a stalled call", async () => {
    let now = 0;
    const object = new FakeObject();
    const follows = new PlaylistFollows({ trustMs, graceMs: 1000, idleMs: 60_000, now: () => now });
    follows.follow("k", playlist(1), object.follow, () => undefined);
    // Held 150 ms, unchanged: the object had playlist 1 at least 150 ms after the call, which was made at 0.
    now = 160;
    object.confirm(150);
    await flush();
    expect(follows.current("k")?.body).toBe(playlist(1).body);
    now = 400;
    expect(follows.current("k")?.body).toBe(playlist(1).body);
    // The renewal (made at 160) is not answered: past 150 + 250 the playlist is not served (the caller asks the object).
    now = 401;
    expect(follows.current("k")).toBeNull();
    expect(follows.size).toBe(1);
    // Past its hold (100) and the grace, the call stalled: nothing is served from it, and no second call is made.
    now = 160 + 100 + 1000 + 1;
    expect(follows.current("k")).toBeNull();
    const calls = object.calls.length;
    follows.follow("k", playlist(1), object.follow, () => undefined);
    expect(object.calls).toHaveLength(calls);
    // Its answer, however late, resumes the follow: dated no later than it came, so served again.
    object.publish(playlist(2), 5000);
    await flush();
    expect(follows.current("k")?.body).toBe(playlist(2).body);
    expect(object.calls).toHaveLength(calls + 1);
    // A call overdue by the idle time too drops the follow; a new one may start after the grace.
    const idle = new PlaylistFollows({ trustMs, graceMs: 1000, idleMs: 2000, now: () => now });
    idle.follow("k", playlist(2), object.follow, () => undefined);
    now += 100 + 1000 + 2000 + 1;
    expect(idle.current("k")).toBeNull();
    expect(idle.size).toBe(0);
    idle.follow("k", playlist(2), object.follow, () => undefined);
    expect(idle.size).toBe(0);
    now += 1000;
    idle.follow("k", playlist(2), object.follow, () => undefined);
    expect(idle.size).toBe(1);
  });

  it("lets a plain reload past the share wait as long again for the follow's next answer, then sends it to the object", async () => {
    const object = new FakeObject();
    const follows = new PlaylistFollows({ trustMs: () => 80, idleMs: 60_000 });
    follows.follow("k", playlist(1), object.follow, () => undefined);
    object.confirm(0);
    await flush();
    // Confirmed when the call was made, long ago in this clock's terms: waits, and the next answer confirms a new playlist.
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(follows.current("k")).toBeNull();
    const waiting = follows.confirmed("k");
    object.publish(playlist(2), 100);
    expect((await waiting)?.body).toBe(playlist(2).body);
    // No answer within the share: null, so the relay asks the object itself.
    await new Promise((resolve) => setTimeout(resolve, 120));
    const started = Date.now();
    expect(await follows.confirmed("k")).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
    expect(await follows.confirmed("not followed")).toBeNull();
  });

  it("dates a confirmation no later than its answer came, whatever hold the object reports", async () => {
    let now = 0;
    const object = new FakeObject();
    const follows = new PlaylistFollows({ trustMs, idleMs: 60_000, now: () => now });
    follows.follow("k", playlist(1), object.follow, () => undefined);
    now = 100;
    object.confirm(10_000);
    await flush();
    expect(follows.current("k")).not.toBeNull();
    now = 350;
    expect(follows.current("k")).not.toBeNull();
    now = 351;
    expect(follows.current("k")).toBeNull();
  });

  it("stops following when nobody reloads for the idle time, when the stream ends, or when the call fails", async () => {
    let now = 0;
    const object = new FakeObject();
    const follows = new PlaylistFollows({ trustMs, idleMs: 2000, now: () => now });
    follows.follow("idle", playlist(1), object.follow, () => undefined);
    now = 2500;
    object.publish(playlist(2));
    await flush();
    expect(follows.size).toBe(0);
    expect(object.held).toBe(0);

    follows.follow("ends", playlist(2), object.follow, () => undefined);
    object.publish(playlist(3, true));
    await flush();
    expect(follows.current("ends")).toBeNull();
    follows.follow("ended", playlist(3, true), object.follow, () => undefined);
    expect(follows.size).toBe(0);

    object.current = playlist(4);
    follows.follow("fails", playlist(4), object.follow, () => undefined);
    object.fail();
    await flush();
    expect(follows.current("fails")).toBeNull();
    expect(follows.size).toBe(0);
    // A failed follow is not restarted by every reload: one call per grace (1 s by default).
    const calls = object.calls.length;
    for (let reload = 0; reload < 100; reload += 1) follows.follow("fails", playlist(4), object.follow, () => undefined);
    expect(object.calls).toHaveLength(calls);
    now += 1000;
    follows.follow("fails", playlist(4), object.follow, () => undefined);
    expect(object.calls).toHaveLength(calls + 1);
  });
});

const LL = (parts: number, ended = false) => {
  const lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:2", "#EXT-X-PART-INF:PART-TARGET=0.5", "#EXT-X-MEDIA-SEQUENCE:4"];
  lines.push("#EXTINF:2.0,", "seg-4.m4s");
  for (let p = 0; p < 4; p += 1) lines.push(`#EXT-X-PART:DURATION=0.5,URI="part-5.${p}.m4s"`);
  lines.push("#EXTINF:2.0,", "seg-5.m4s");
  for (let p = 0; p < parts; p += 1) lines.push(`#EXT-X-PART:DURATION=0.5,URI="part-6.${p}.m4s"`);
  lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-6.${parts}.m4s"`);
  if (ended) lines.push("#EXT-X-ENDLIST");
  return { status: 200, body: `${lines.join("\n")}\n`, headers: { "cache-control": "public, max-age=1" } };
};

describe("listsPart", () => {
  it("decides a blocked request from a full playlist as the stream's object does", () => {
    const body = LL(2).body; // segments 4 and 5 complete (5 with 4 parts listed), 6 open with parts 0 and 1
    expect(listsPart(body, 5, null)).toBe(true);
    expect(listsPart(body, 6, null)).toBe(false);
    expect(listsPart(body, 3, 0)).toBe(true); // behind the window
    expect(listsPart(body, 5, 3)).toBe(true);
    expect(listsPart(body, 5, 4)).toBe(true); // past segment 5's last part: part 6.0, listed
    expect(listsPart(body, 6, 1)).toBe(true);
    expect(listsPart(body, 6, 2)).toBe(false);
    expect(listsPart(body, 7, 0)).toBe(false);
    // The object decides what the text cannot tell: segment 4's parts are not listed; far ahead may be refused.
    expect(listsPart(body, 4, 9)).toBe(true);
    expect(listsPart(LL(0).body, 5, 4)).toBe(false);
    expect(listsPart(body.replace(/#EXT-X-PART:[^\n]*part-5\.\d[^\n]*\n/g, ""), 5, 4)).toBeNull();
    expect(listsPart(body, 8, 0)).toBeNull();
    expect(listsPart(body, 7, 2)).toBeNull();
    expect(listsPart("#EXTM3U\n", 1, 0)).toBeNull();
  });
});

describe("blocked requests of a followed rendition", () => {
  it("are answered from the followed playlist once it lists their part, with no call of their own", async () => {
    const object = new FakeObject();
    object.current = LL(1);
    const follows = new PlaylistFollows({ trustMs });
    follows.follow("k", LL(1), object.follow, () => undefined);
    const listed = await follows.blocked("k", 6, 0);
    expect(listed?.body).toBe(LL(1).body);
    expect(listed?.headers["cache-control"]).toBe("no-cache");
    const waiting = Array.from({ length: 50 }, () => follows.blocked("k", 6, 1));
    await flush();
    expect(follows.waiting).toBe(50);
    object.publish(LL(2));
    for (const answer of await Promise.all(waiting)) expect(answer?.body).toContain("part-6.1.m4s");
    expect(follows.waiting).toBe(0);
    // The follow's first call and its renewal: the 51 blocked requests made none.
    expect(object.calls).toHaveLength(2);
    // Not followed, or the follow stops: the caller asks the object itself.
    expect(await follows.blocked("other", 6, 0)).toBeNull();
    const stopping = follows.blocked("k", 6, 2);
    await flush();
    object.fail();
    expect(await stopping).toBeNull();
  });

  it("are bounded: past maxWaiting they go to the object", async () => {
    const object = new FakeObject();
    object.current = LL(1);
    const follows = new PlaylistFollows({ trustMs, maxWaiting: 2 });
    follows.follow("k", LL(1), object.follow, () => undefined);
    const held = [follows.blocked("k", 6, 1), follows.blocked("k", 6, 1)];
    await flush();
    expect(await follows.blocked("k", 6, 1)).toBeNull();
    object.publish(LL(2));
    expect((await Promise.all(held)).every((a) => a?.body.includes("part-6.1.m4s"))).toBe(true);
  });
});

describe("a stalled follow", () => {
  it("sends its blocked requests to the object once its call is overdue", async () => {
    const object = new FakeObject();
    object.current = LL(1);
    const follows = new PlaylistFollows({ trustMs: () => 100, graceMs: 50 });
    follows.follow("k", LL(1), object.follow, () => undefined);
    const started = Date.now();
    // Never answered: past the hold (a 500 ms part target) and the grace, the request goes to the object.
    expect(await follows.blocked("k", 6, 1)).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(540);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(object.calls).toHaveLength(1);
  });
});
