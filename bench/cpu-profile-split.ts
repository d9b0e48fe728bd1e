// Splits a V8 CPU profile (`node --cpu-prof`) of the ingest node into what its time went to: each sample is charged to
// the innermost frame on its stack that belongs to a known part (RTMP ingest, remux, packaging, uploads, thumbnails),
// so a native leaf (a socket write, a copy) counts for the code that asked for it. Garbage collection is its own part
// (V8 does not say whose garbage it collects); V8's own work outside any script ("(program)") is "other".
import { readFileSync } from "node:fs";

/** The parts the node's time is split into, in report order. */
export const PROFILE_PARTS = ["rtmp", "remux", "packaging", "uploads", "thumbnails", "gc", "other"] as const;
/** One part. */
export type ProfilePart = (typeof PROFILE_PARTS)[number];

/** Which part a frame's script belongs to (the first rule that matches its URL), or null. */
const RULES: [RegExp, ProfilePart][] = [
  [/node-media-server|ingest-node\/src\/rtmp\//, "rtmp"],
  [/ingest-node\/src\/(remux\/|pipeline\/(native-remux|ffmpeg-feed)\.ts)/, "remux"],
  [/ingest-node\/src\/(packager\/|pipeline\/rendition-packaging\.ts)/, "packaging"],
  [/ingest-node\/src\/(upload\/|pipeline\/media-uploads\.ts)|node:_http_|node:http/, "uploads"],
  [
    /ingest-node\/src\/(storyboard\/|pipeline\/keyframe-thumbnail\.ts|pipeline\/picture-warm-up\.ts|transcode\/ffmpeg-jpeg-pipe\.ts|transcode\/jpeg-splitter\.ts)|child_process/,
    "thumbnails",
  ],
];

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

/** A `.cpuprofile` file's contents (the fields used here). */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Seconds of CPU per part over the samples taken between `fromS` and `toS` seconds after the profile started. */
export function splitProfile(profile: CpuProfile, fromS = 0, toS = Number.POSITIVE_INFINITY): Record<ProfilePart, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const partOf = new Map<number, ProfilePart | null>();
  const classify = (id: number): ProfilePart | null => {
    if (partOf.has(id)) return partOf.get(id)!;
    const frame = byId.get(id)!.callFrame;
    let part: ProfilePart | null = frame.functionName === "(garbage collector)" ? "gc" : (RULES.find(([re]) => re.test(frame.url))?.[1] ?? null);
    if (part === null && parent.has(id)) part = classify(parent.get(id)!);
    partOf.set(id, part);
    return part;
  };
  const out = Object.fromEntries(PROFILE_PARTS.map((p) => [p, 0])) as Record<ProfilePart, number>;
  let t = 0;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    if (t < fromS * 1e6 || t > toS * 1e6) return;
    const name = byId.get(id)?.callFrame.functionName;
    if (name === "(idle)" || name === "(root)") return;
    out[classify(id) ?? "other"] += (profile.timeDeltas[i] ?? 0) / 1e6;
  });
  return out;
}

/** splitProfile of a `.cpuprofile` file. */
export function splitProfileFile(path: string, fromS?: number, toS?: number): Record<ProfilePart, number> {
  return splitProfile(JSON.parse(readFileSync(path, "utf8")) as CpuProfile, fromS, toS);
}
