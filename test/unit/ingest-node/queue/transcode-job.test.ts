import { describe, expect, it } from "vitest";
import { EnqueueBuffer } from "../../../../ingest-node/src/queue/enqueue-buffer.ts";
import {
  classFor,
  isPastDeadline,
  jobDeadline,
  rungGroups,
  type TranscodeJob,
  TranscodeJobSchema,
  transcodeJobId,
} from "../../../../ingest-node/src/queue/transcode-job.ts";

const STREAM = "0b6f3c1e-8d2a-4c7e-9f10-2a3b4c5d6e7f";
const rung = (name: string, height: number) => ({ name, width: Math.round((height * 16) / 9 / 2) * 2, height, videoKbps: 500, audioKbps: 64 });

function job(msn: number, cutAt = 1_000_000): TranscodeJob {
  return TranscodeJobSchema.parse({
    streamId: STREAM,
    epoch: 2,
    msn,
    group: "low",
    sourceRendition: "source",
    rungs: [rung("360p", 360)],
    duration: 2,
    programDateTime: "2026-12-06T05:00:00.000Z",
    hasAudio: true,
    grant: "wg1.x.y",
    targetDuration: 2,
    openedAt: cutAt - 2_000,
    cutAt,
    fragments: false,
  });
}

describe("transcode job ids", () => {
  it("are the same for the same stream, epoch, msn and group, and differ otherwise", () => {
    expect(transcodeJobId(job(7))).toBe(transcodeJobId(job(7, 5)));
    expect(transcodeJobId(job(7))).toBe(`${STREAM}_e2_m7_low`);
    expect(
      new Set([transcodeJobId(job(7)), transcodeJobId(job(8)), transcodeJobId({ ...job(7), epoch: 3 }), transcodeJobId({ ...job(7), group: "high" })]).size,
    ).toBe(4);
    // BullMQ refuses custom ids with ':' (its key separator) and integer ids.
    expect(transcodeJobId(job(7))).not.toContain(":");
  });
});

describe("rung groups and classes", () => {
  const ladder = [rung("1080p", 1080), rung("720p", 720), rung("480p", 480), rung("360p", 360)];
  it("split at GPU_MIN_HEIGHT and send the high group to gpu only while a gpu worker is there", () => {
    const groups = rungGroups(ladder, 720);
    expect(groups.map((g) => [g.group, g.rungs.map((r) => r.name)])).toEqual([
      ["high", ["1080p", "720p"]],
      ["low", ["480p", "360p"]],
    ]);
    expect(rungGroups(ladder, 2000).map((g) => g.group)).toEqual(["low"]);
    expect(classFor("high", true)).toBe("gpu");
    expect(classFor("high", false)).toBe("cpu");
    expect(classFor("low", true)).toBe("cpu");
  });
});

describe("deadline", () => {
  it("passes once the source would be more than 3 segments ahead of the job's segment", () => {
    const j = job(1, 10_000);
    expect(jobDeadline(j)).toBe(10_000 + 4 * 2_000);
    expect(isPastDeadline(j, 17_999)).toBe(false);
    expect(isPastDeadline(j, 18_000)).toBe(true);
  });

  it("of a job enqueued when its segment opened: a target later for the cut, from the open; exact once the cut is known", () => {
    const open = { ...job(1), openedAt: 10_000, cutAt: null, duration: null, targetDuration: 2, fragments: true };
    expect(TranscodeJobSchema.parse(open)).toEqual(open);
    expect(jobDeadline(open)).toBe(10_000 + 5 * 2_000);
    // The end entry says the segment was cut at 12,100 after 2.1 s.
    expect(jobDeadline({ ...open, cutAt: 12_100, duration: 2.1 })).toBe(12_100 + 4 * 2_100);
  });
});

describe("EnqueueBuffer", () => {
  it("holds jobs while sending fails, drops the oldest past its bound, and replays the rest in order", async () => {
    let up = false;
    const sent: number[] = [];
    const outages: boolean[] = [];
    const buffer = new EnqueueBuffer({
      maxJobs: 3,
      retryMs: 5,
      now: () => 1_000_000,
      send: async (j) => {
        if (!up) throw new Error("redis down");
        sent.push(j.msn);
      },
      onOutage: (down) => outages.push(down),
    });
    for (let msn = 0; msn < 5; msn++) buffer.push(job(msn));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(buffer.stats).toMatchObject({ held: 3, sent: 0, dropped: 2 });
    up = true;
    await buffer.idle();
    expect(sent).toEqual([2, 3, 4]);
    expect(buffer.stats).toMatchObject({ held: 0, sent: 3, dropped: 2, late: 0 });
    expect(outages).toEqual([true, false]);
  });

  it("drops a held job that passed its deadline instead of enqueuing it", async () => {
    let now = 1_000_000;
    const sent: number[] = [];
    const buffer = new EnqueueBuffer({ maxJobs: 10, retryMs: 5, now: () => now, send: async (j) => void sent.push(j.msn) });
    now = 2_000_000;
    buffer.push(job(1, 1_000_000));
    buffer.push(job(2, 1_999_000));
    await buffer.idle();
    expect(sent).toEqual([2]);
    expect(buffer.stats.late).toBe(1);
  });
});
