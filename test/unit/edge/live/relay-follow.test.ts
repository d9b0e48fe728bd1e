import { describe, expect, it } from "vitest";
import type { PlaylistAnswer } from "../../../../edge/src/live/playlist-answer.ts";
import { PlaylistFollows } from "../../../../edge/src/live/relay-follow.ts";

const playlist = (n: number, ended = false): PlaylistAnswer => ({
  status: 200,
  body: `#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:${n}\nseg-${n}.m4s\n${ended ? "#EXT-X-ENDLIST\n" : ""}`,
  headers: {},
});

/** A fake object: follow calls wait until the test publishes a playlist other than the one they know. */
class FakeObject {
  current = playlist(1);
  calls: string[] = [];
  #waiting: Array<{ known: string; resolve: (a: PlaylistAnswer) => void; reject: (e: Error) => void }> = [];
  follow = (known: string): Promise<PlaylistAnswer> => {
    this.calls.push(known);
    if (known !== this.current.body) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => this.#waiting.push({ known, resolve, reject }));
  };
  publish(answer: PlaylistAnswer): void {
    this.current = answer;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const w of waiting) w.resolve(answer);
  }
  fail(): void {
    for (const w of this.#waiting.splice(0)) w.reject(new Error("object reset"));
  }
  get held(): number {
    return this.#waiting.length;
  }
}

const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe("PlaylistFollows", () => {
  it("answers reloads from the followed playlist with one call per playlist update, however many reloads come", async () => {
    let now = 0;
    const follows = new PlaylistFollows({ holdMs: 6000, idleMs: 6000, now: () => now });
    const object = new FakeObject();
    expect(follows.current("k")).toBeNull();
    follows.follow("k", playlist(1), object.follow, () => undefined);
    follows.follow("k", playlist(1), object.follow, () => undefined); // already followed: no second call
    expect(object.held).toBe(1);
    for (let update = 2; update <= 6; update += 1) {
      for (let reload = 0; reload < 1000; reload += 1) expect(follows.current("k")?.body).toBe(object.current.body);
      now += 500;
      object.publish(playlist(update));
      await flush();
    }
    // The first call, then one renewal per update: 6 calls for 5 updates and 5,000 reloads.
    expect(object.calls).toHaveLength(6);
    expect(follows.current("k")?.body).toBe(playlist(6).body);
  });

  it("stops following when nobody reloads for the idle time, when the stream ends, or when the call fails", async () => {
    let now = 0;
    const object = new FakeObject();
    const follows = new PlaylistFollows({ holdMs: 6000, idleMs: 2000, now: () => now });
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
  });

  it("does not trust a follow call pending longer than the object's hold (an object too busy to answer)", () => {
    let now = 0;
    const object = new FakeObject();
    const follows = new PlaylistFollows({ holdMs: 6000, graceMs: 1000, idleMs: 60_000, now: () => now });
    follows.follow("k", playlist(1), object.follow, () => undefined);
    now = 7000;
    expect(follows.current("k")).not.toBeNull();
    now = 7001;
    expect(follows.current("k")).toBeNull();
  });
});
