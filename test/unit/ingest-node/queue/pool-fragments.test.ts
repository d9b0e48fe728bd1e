// The node's side of a segment's fragment stream: which entries PoolPublish appends, when, and with which expiry.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { FragmentSink } from "../../../../ingest-node/src/queue/fragment-stream.ts";
import type { PoolPublish, PoolTranscoding } from "../../../../ingest-node/src/queue/pool-transcoding.ts";
import type { FragmentEntry } from "../../../../ingest-node/src/queue/segment-fragments.ts";
import { grantedPublish, NOW, SOURCE, testPool } from "./pool-fixture.ts";

interface Appended {
  entry: FragmentEntry;
  expireAt: number | null;
}

function publishWithFragments(): { publish: PoolPublish; appended: Appended[]; pool: PoolTranscoding } {
  const appended: Appended[] = [];
  const sink: FragmentSink = { append: async (_key, entry, expireAt) => void appended.push({ entry, expireAt }) };
  const pool = testPool({ fragments: { sink, maxBytes: 1_000_000 } });
  const publish = grantedPublish(pool, "wg1.test.grant");
  if (!publish) throw new Error("a publish with a worker grant has a pool part");
  publish.plan(SOURCE, 2, true);
  publish.init("source", new Uint8Array([1, 2, 3]));
  return { publish, appended, pool };
}

const summary = (appended: Appended[]) =>
  appended.map(({ entry, expireAt }) => [entry.kind, "bytes" in entry ? entry.bytes.byteLength : null, expireAt === null ? null : expireAt - NOW]);

afterEach(() => {
  vi.useRealTimers();
});

describe("a segment's fragments as the node appends them", () => {
  it("are appended as they come, the lone keyframe too (a worker's FFmpeg starts on it), then the end at the cut", () => {
    vi.useFakeTimers({ now: NOW, toFake: ["Date"] });
    const { publish, appended, pool } = publishWithFragments();
    // A GOP's fragments back to back in one buffer, as the native remux writes them.
    const gop = new Uint8Array(1_000);
    const date = () => new Date(NOW).toISOString();
    publish.fragment("source", 0, { bytes: gop.subarray(0, 100), index: 0 }, date);
    expect(summary(appended)).toEqual([
      ["init", 3, 15_000],
      ["fragment", 100, null],
    ]);
    publish.fragment("source", 0, { bytes: gop.subarray(100, 400), index: 1 }, date);
    publish.fragment("source", 0, { bytes: gop.subarray(400, 450), index: 2 }, date);
    expect(summary(appended).slice(2)).toEqual([
      ["fragment", 300, null],
      ["fragment", 50, null],
    ]);
    // Cut on time: the end, and the init's expiry stands (no second PEXPIREAT).
    vi.setSystemTime(NOW + 2_000);
    publish.segment("source", { epoch: 3, msn: 0, duration: 2, program_date_time: date(), parts: 0 });
    expect(summary(appended).slice(4)).toEqual([["end", null, null]]);
    expect(appended.filter((a) => a.entry.kind === "fragment").map((a) => (a.entry as { index: number }).index)).toEqual([0, 1, 2]);
    expect(pool.fragmentStreams.ended).toBe(1);
    pool.close();
  });

  it("move the stream's expiry at the cut only for a segment well past its target", () => {
    vi.useFakeTimers({ now: NOW, toFake: ["Date"] });
    const { publish, appended, pool } = publishWithFragments();
    const date = () => new Date(NOW).toISOString();
    publish.fragment("source", 0, { bytes: new Uint8Array(10), index: 0 }, date);
    vi.setSystemTime(NOW + 6_000);
    publish.segment("source", { epoch: 3, msn: 0, duration: 6, program_date_time: date(), parts: 0 });
    // Opened: 5 targets + 5 s margin. Cut after 6 s of a 2 s target: 4 durations from the cut + 5 s.
    expect(summary(appended)).toEqual([
      ["init", 3, 15_000],
      ["fragment", 10, null],
      ["end", null, 6_000 + 24_000 + 5_000],
    ]);
    pool.close();
  });

  it("start with a copy of the init, not a view that would keep the remux's GOP buffer for the whole publish", () => {
    vi.useFakeTimers({ now: NOW, toFake: ["Date"] });
    const { publish, appended, pool } = publishWithFragments();
    // The native remux writes its init into the buffer it sized for a GOP's fragments.
    const arena = Buffer.alloc(800_000);
    arena.set([7, 8, 9, 10]);
    publish.init("source", arena.subarray(0, 4));
    arena.fill(0);
    publish.fragment("source", 0, { bytes: new Uint8Array(300), index: 0 }, () => new Date(NOW).toISOString());
    const init = appended[0]!.entry as { kind: string; bytes: Uint8Array };
    expect(init.kind).toBe("init");
    expect([...init.bytes]).toEqual([7, 8, 9, 10]);
    expect(init.bytes.buffer.byteLength).toBe(4);
    pool.close();
  });
});
