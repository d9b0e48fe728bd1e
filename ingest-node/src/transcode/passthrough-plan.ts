// The passthrough ladder: repackage the publisher's own H.264/AAC; encode one rendition only when it cannot be copied.
import { DEFAULT_LADDER, type Rung } from "../../../protocol/ladder.ts";
import { type LadderPlan, planLadder, SOURCE_RENDITION, type SourceInfo, sourceCopyDecision } from "./ladder-plan.ts";

/** The LADDER setting of a node that copies instead of transcoding. */
export const PASSTHROUGH_LADDER = "passthrough";

/**
 * Plans a passthrough node's renditions: the `source` copy alone when sourceCopyDecision allows it, else one encoded
 * rendition at the source's (even) height, so viewers still get a stream they can play; `fallback` then says why.
 */
export function planPassthrough(source: SourceInfo, segmentTarget: number, tolerance = 0.05): LadderPlan {
  if (!(source.width > 0 && source.height > 0)) {
    throw new RangeError(`source size ${source.width}x${source.height} is not usable`);
  }
  const sourceCopy = sourceCopyDecision(source, segmentTarget, tolerance);
  if (sourceCopy.included) {
    return {
      renditions: [{ kind: "copy", name: SOURCE_RENDITION, width: source.width, height: source.height }],
      hasAudio: source.audioCodec !== null,
      sourceCopy,
    };
  }
  const rung = fallbackRung(source.height);
  const plan = planLadder([rung], source, segmentTarget, { allowSourceCopy: false });
  const encoded = plan.renditions[0]!;
  return {
    ...plan,
    sourceCopy,
    fallback:
      `passthrough cannot copy this source (${sourceCopy.reason}): encoding one ` +
      `${encoded.width}x${encoded.height} rendition at ${rung.videoKbps} kbps instead`,
  };
}

/**
 * The one rung a passthrough node encodes when it cannot copy: the source's even height, and the bitrate of the
 * DEFAULT_LADDER rung nearest in height scaled by the pixel count (height squared), i.e. the same bits per pixel as
 * the rung the default ladder tuned for that size (360p 800 kbps, 576p 2000 kbps, 2160p 20000 kbps); rounded to
 * 50 kbps within the rung limits. The nearest rung's audio bitrate.
 */
export function fallbackRung(sourceHeight: number, ladder: readonly Rung[] = DEFAULT_LADDER): Rung {
  const height = Math.max(2, sourceHeight - (sourceHeight % 2));
  // Nearest by height; on a tie the taller rung (its bits per pixel are the lower of the two).
  const nearest = [...ladder].sort((a, b) => Math.abs(a.height - height) - Math.abs(b.height - height) || b.height - a.height)[0];
  if (!nearest) throw new RangeError("the ladder has no rungs");
  const scaled = nearest.videoKbps * (height / nearest.height) ** 2;
  const videoKbps = Math.min(50_000, Math.max(50, Math.round(scaled / 50) * 50));
  return { name: `${height}p`, height, videoKbps, audioKbps: nearest.audioKbps };
}

/**
 * `plan` with its `source` copy encoded instead, under the same name and size (even), at fallbackRung's bitrate: what
 * a publish falls back to when the publisher stops sending keyframes, since the copy can only be cut at the
 * publisher's keyframes and the encoder forces its own. Keeping the name keeps the master playlist's renditions.
 */
export function encodeSourceCopy(plan: LadderPlan): LadderPlan {
  const copy = plan.renditions.find((r) => r.kind === "copy");
  if (!copy) return plan;
  const rung = fallbackRung(copy.height);
  const even = (value: number) => Math.max(2, value - (value % 2));
  return {
    ...plan,
    renditions: plan.renditions.map((r) =>
      r.kind === "copy"
        ? { kind: "encode", name: r.name, width: even(r.width), height: even(r.height), videoKbps: rung.videoKbps, audioKbps: rung.audioKbps }
        : r,
    ),
    sourceCopy: { included: false, reason: "the publisher stopped sending keyframes: the source rendition is encoded" },
  };
}
