import { describe, expect, it } from "vitest";
import { checkEarlyCopy } from "../../../../ingest-node/src/pipeline/copy-check.ts";
import { sourceReady } from "../../../../ingest-node/src/pipeline/source-probe.ts";
import type { SourceInfo as PublisherSource } from "../../../../ingest-node/src/publish/publish-source.ts";
import { planLadder, type SourceInfo } from "../../../../ingest-node/src/transcode/ladder-plan.ts";

const firstKeyframe: PublisherSource = { width: 640, height: 360, fps: 30, videoCodec: "h264", audioCodec: "aac", keyframeInterval: null };
const ladderSource: SourceInfo = { width: 640, height: 360, fps: 30, videoCodec: "h264", audioCodec: "aac", keyframeInterval: null };
const rung = { name: "240p", height: 240, videoKbps: 400, audioKbps: 64 };

describe("starting a publish at its first keyframe", () => {
  it("starts an H.264 publisher with a known size before its keyframe interval is known", () => {
    expect(sourceReady(firstKeyframe, false)).toBe(true);
  });

  it("waits for the interval where the plan needs it (passthrough node, worker pool), and for codec and size", () => {
    expect(sourceReady(firstKeyframe, true)).toBe(false);
    expect(sourceReady({ ...firstKeyframe, keyframeInterval: 2 }, true)).toBe(true);
    expect(sourceReady({ ...firstKeyframe, videoCodec: null }, false)).toBe(false);
    expect(sourceReady({ ...firstKeyframe, width: null, height: null }, false)).toBe(false);
    expect(sourceReady({ ...firstKeyframe, videoCodec: "hevc", width: null }, true)).toBe(true);
  });

  it("plans the source copy before the interval is known only when asked", () => {
    expect(planLadder([rung], ladderSource, 2).sourceCopy.included).toBe(false);
    const early = planLadder([rung], ladderSource, 2, { copyBeforeInterval: true });
    expect(early.renditions.map((r) => r.name)).toEqual(["source", "240p"]);
    expect(planLadder([rung], { ...ladderSource, audioCodec: "mp3" }, 2, { copyBeforeInterval: true }).sourceCopy.included).toBe(false);
  });
});

describe("checking an early source copy", () => {
  it("waits for the second keyframe up to a segment target and some slack", () => {
    expect(checkEarlyCopy(ladderSource, 0, 2).kind).toBe("wait");
    expect(checkEarlyCopy(ladderSource, 2_500, 2).kind).toBe("wait");
  });

  it("keeps the copy when the interval fits the segment target", () => {
    expect(checkEarlyCopy({ ...ladderSource, keyframeInterval: 2 }, 2_010, 2)).toEqual({ kind: "keep", reason: "h264 with a 2s keyframe interval" });
    expect(checkEarlyCopy({ ...ladderSource, keyframeInterval: 1 }, 1_000, 2).kind).toBe("keep");
  });

  it("revokes it when the interval does not fit or no second keyframe came in time", () => {
    expect(checkEarlyCopy({ ...ladderSource, keyframeInterval: 1.5 }, 1_500, 2).kind).toBe("revoke");
    expect(checkEarlyCopy({ ...ladderSource, keyframeInterval: 4 }, 4_000, 2).kind).toBe("revoke");
    expect(checkEarlyCopy(ladderSource, 2_700, 2)).toEqual({ kind: "revoke", reason: "no second keyframe within the 2s segment target" });
  });
});
