// A relay that follows a rendition answers plain reloads from the followed playlist only while the stream's object has
// confirmed it within the relay's share of the staleness bound (relay-follow.ts). These tests stall or fail the follow
// calls in the middle of a crowd's reloads, while segments keep being listed: every viewer must still see each segment
// within the bound (the relay asks the object itself meanwhile), and the object's calls stay bounded. The pool runs with
// PLAYLIST_STALENESS_MS=0, so the relay gets the default bound and its follows from relay-helpers.ts.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { playlistRelay } from "../../../edge/src/live/objects/playlist-relay-stub.ts";
import { createStream, FakePublisher, sleep } from "../playback-helpers.ts";
import { BOUND_MS, controlFollowCalls, countObjectCalls, expectFreshAndMonotonic, keepPlainPlaylists, plainReloadCrowd } from "../relay-helpers.ts";

describe("a relay whose follow calls stall or fail", () => {
  for (const mode of ["stall", "fail"] as const) {
    it(`never serves a plain playlist older than the bound when they ${mode}`, async () => {
      const stream = await createStream("low");
      const publisher = await FakePublisher.start(stream);
      await publisher.segments(0, 2);
      await keepPlainPlaylists(playlistRelay(env, stream.stream_id, "AAA"), 1, true);
      const control = await controlFollowCalls(stream.stream_id);
      const calls = await countObjectCalls(stream.stream_id);
      // The follow works until segment 3 is listed (at ~600 ms), then every call it makes stalls or fails.
      const switching = sleep(700).then(() => {
        control.mode = mode;
      });
      const run = await plainReloadCrowd(publisher, `/live/${stream.stream_id}/360p/index.m3u8`, "360p", 12, () => "AAA");
      await switching;
      calls.restore();
      control.restore();

      // A relay trusting its stalled follow would keep answering segment 3's playlist for the rest of the run.
      expectFreshAndMonotonic(run, 12);
      expect(control.affected()).toBeGreaterThan(0);
      // Meanwhile the relay asked the object itself, at most once per bound (its latest playlists), and restarted the
      // follow at most once per grace (1 s) after each stall or failure: bounded, however many reloads came.
      const plain = calls.plain["360p"] ?? 0;
      expect(plain).toBeGreaterThan(1);
      expect(plain).toBeLessThanOrEqual(Math.ceil(run.elapsed / BOUND_MS) + 1);
      expect(calls.follow["360p"] ?? 0).toBeLessThanOrEqual(Math.ceil(run.elapsed / 1000) + 6);
      expect(run.seen.length).toBeGreaterThan(20 * (plain + (calls.follow["360p"] ?? 0)));
    });
  }
});
