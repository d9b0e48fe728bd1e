import { describe, expect, it } from "vitest";
import { type ReorderOutput, RtpReorderBuffer, unwrap } from "../../../../ingest-node/src/whip/rtp-reorder-buffer.ts";

/** Pushes sequence numbers (a packet is its own number) at the given times; returns everything released. */
function feed(buffer: RtpReorderBuffer<number>, arrivals: Array<[seq: number, at: number]>): ReorderOutput<number>[] {
  return arrivals.flatMap(([seq, at]) => buffer.push(seq, seq, at));
}

const packets = (out: ReorderOutput<number>[]) => out.flatMap((o) => ("packet" in o ? [o.packet] : []));
const losses = (out: ReorderOutput<number>[]) => out.flatMap((o) => ("lost" in o ? [o] : []));

describe("RtpReorderBuffer", () => {
  it("passes an ordered stream straight through", () => {
    const buffer = new RtpReorderBuffer<number>({ latencyMs: 200, maxPackets: 10 });
    const out = feed(buffer, [
      [10, 0],
      [11, 1],
      [12, 2],
    ]);
    expect(packets(out)).toEqual([10, 11, 12]);
    expect(buffer.deadline).toBeNull();
  });

  it("holds packets after a gap and releases them in order when the retransmission arrives", () => {
    const buffer = new RtpReorderBuffer<number>({ latencyMs: 200, maxPackets: 10 });
    expect(
      packets(
        feed(buffer, [
          [1, 0],
          [3, 5],
          [4, 6],
        ]),
      ),
    ).toEqual([1]);
    expect(buffer.deadline).toBe(205);
    expect(packets(feed(buffer, [[2, 50]]))).toEqual([2, 3, 4]);
    expect(buffer.stats).toEqual({ forwarded: 4, lost: 0, dropped: 0 });
    expect(buffer.deadline).toBeNull();
  });

  it("gives a gap up after the latency, counts it once, and drops the retransmission that comes too late", () => {
    const buffer = new RtpReorderBuffer<number>({ latencyMs: 200, maxPackets: 10 });
    feed(buffer, [
      [1, 0],
      [4, 10],
      [5, 20],
    ]);
    expect(buffer.expire(209)).toEqual([]);
    const out = buffer.expire(210);
    expect(out).toEqual([{ lost: 2, from: 2 }, { packet: 4 }, { packet: 5 }]);
    // What werift's buffer did: the late packets came out afterwards, behind newer ones, as a backwards "loss".
    expect(
      feed(buffer, [
        [2, 220],
        [3, 221],
        [5, 222],
        [6, 223],
      ]),
    ).toEqual([{ packet: 6 }]);
    expect(buffer.stats).toEqual({ forwarded: 4, lost: 2, dropped: 3 });
  });

  it("a later gap is timed from its own first held packet", () => {
    const buffer = new RtpReorderBuffer<number>({ latencyMs: 100, maxPackets: 10 });
    feed(buffer, [
      [1, 0],
      [3, 10],
      [5, 60],
    ]);
    // Gap at 2 waited since 10; the one at 4 only since 60.
    expect(losses(buffer.expire(110))).toEqual([{ lost: 1, from: 2 }]);
    expect(buffer.deadline).toBe(160);
    expect(buffer.expire(159)).toEqual([]);
    expect(buffer.expire(160)).toEqual([{ lost: 1, from: 4 }, { packet: 5 }]);
  });

  it("never emits a packet twice", () => {
    const buffer = new RtpReorderBuffer<number>({ latencyMs: 100, maxPackets: 10 });
    const out = feed(buffer, [
      [1, 0],
      [1, 1],
      [3, 2],
      [3, 3],
      [2, 4],
      [2, 5],
      [3, 6],
    ]);
    expect(packets(out)).toEqual([1, 2, 3]);
    expect(buffer.stats.dropped).toBe(4);
  });

  it("is bounded: one packet over maxPackets gives up the oldest gap at once", () => {
    const buffer = new RtpReorderBuffer<number>({ latencyMs: 10_000, maxPackets: 3 });
    feed(buffer, [
      [1, 0],
      [3, 1],
      [4, 2],
      [5, 3],
    ]);
    expect(buffer.deadline).not.toBeNull();
    const out = feed(buffer, [[7, 4]]);
    expect(out).toEqual([{ lost: 1, from: 2 }, { packet: 3 }, { packet: 4 }, { packet: 5 }]);
    expect(buffer.deadline).toBe(10_004); // 7 still waits for 6, since it arrived
  });

  it("follows the 16-bit sequence number across its wrap", () => {
    const buffer = new RtpReorderBuffer<number>({ latencyMs: 100, maxPackets: 10 });
    const out = feed(buffer, [
      [65534, 0],
      [0, 1],
      [65535, 2],
      [1, 3],
    ]);
    expect(packets(out)).toEqual([65534, 65535, 0, 1]);
    expect(losses(feed(buffer, [[3, 4]]).concat(buffer.expire(104)))).toEqual([{ lost: 1, from: 2 }]);
  });

  it("flush releases everything held with its gaps", () => {
    const buffer = new RtpReorderBuffer<number>({ latencyMs: 100, maxPackets: 10 });
    feed(buffer, [
      [1, 0],
      [3, 1],
      [6, 2],
    ]);
    expect(buffer.flush()).toEqual([{ lost: 1, from: 2 }, { packet: 3 }, { lost: 2, from: 4 }, { packet: 6 }]);
  });

  it("unwrap picks the nearest extended number", () => {
    expect(unwrap(5, 65_540)).toBe(65_541);
    expect(unwrap(65_535, 65_537)).toBe(65_535);
    expect(unwrap(100, 100)).toBe(100);
  });
});
