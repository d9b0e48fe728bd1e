// Reads what the latency benchmark needs from a media playlist: every listed segment and part with the
// program-date-time of its first frame (segments carry EXT-X-PROGRAM-DATE-TIME; parts and later segments follow
// from the durations), and the preload hint an LL-HLS client blocks on next.

/** A segment or part as listed, with the capture time of its first frame (ms since the epoch) when known. */
export interface ListedMedia {
  kind: "segment" | "part";
  msn: number;
  /** Part index within its segment; -1 for segments. */
  part: number;
  startMs: number | null;
  durationS: number;
}

/** What a media playlist says about the live edge. */
export interface Timeline {
  items: ListedMedia[];
  /** The part named by EXT-X-PRELOAD-HINT, or null. */
  hint: { msn: number; part: number } | null;
  ended: boolean;
  targetDuration: number | null;
  partTarget: number | null;
}

function attribute(line: string, name: string): string | null {
  const match = new RegExp(`${name}=("([^"]*)"|[^,]*)`).exec(line);
  if (!match) return null;
  return match[2] ?? match[1] ?? null;
}

/** Parses a media playlist into its listed media with capture times. */
export function parseTimeline(text: string): Timeline {
  const items: ListedMedia[] = [];
  let cursor: number | null = null;
  let partOffsetMs = 0;
  let pendingDuration: number | null = null;
  let hint: Timeline["hint"] = null;
  let ended = false;
  let targetDuration: number | null = null;
  let partTarget: number | null = null;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")) {
      cursor = Date.parse(line.slice("#EXT-X-PROGRAM-DATE-TIME:".length));
    } else if (line.startsWith("#EXT-X-TARGETDURATION:")) {
      targetDuration = Number(line.split(":")[1]);
    } else if (line.startsWith("#EXT-X-PART-INF:")) {
      partTarget = Number(attribute(line, "PART-TARGET"));
    } else if (line.startsWith("#EXT-X-PART:")) {
      const uri = attribute(line, "URI") ?? "";
      const match = /part-(\d+)\.(\d+)\.m4s/.exec(uri);
      const duration = Number(attribute(line, "DURATION") ?? 0);
      if (match) {
        items.push({
          kind: "part",
          msn: Number(match[1]),
          part: Number(match[2]),
          startMs: cursor === null ? null : cursor + partOffsetMs,
          durationS: duration,
        });
      }
      partOffsetMs += duration * 1000;
    } else if (line.startsWith("#EXT-X-PRELOAD-HINT:")) {
      const match = /part-(\d+)\.(\d+)\.m4s/.exec(attribute(line, "URI") ?? "");
      if (match) hint = { msn: Number(match[1]), part: Number(match[2]) };
    } else if (line.startsWith("#EXTINF:")) {
      pendingDuration = Number.parseFloat(line.slice("#EXTINF:".length));
    } else if (line === "#EXT-X-ENDLIST") {
      ended = true;
    } else if (!line.startsWith("#") && pendingDuration !== null) {
      const match = /seg-(\d+)\.m4s/.exec(line);
      if (match) items.push({ kind: "segment", msn: Number(match[1]), part: -1, startMs: cursor, durationS: pendingDuration });
      if (cursor !== null) cursor += pendingDuration * 1000;
      partOffsetMs = 0;
      pendingDuration = null;
    } else if (line === "#EXT-X-GAP" || line === "#EXT-X-DISCONTINUITY") {
      // The next segment carries its own program-date-time.
    }
  }
  return { items, hint, ended, targetDuration, partTarget };
}

/** A stable key of a listed item. */
export function itemKey(item: ListedMedia): string {
  return item.kind === "segment" ? `s${item.msn}` : `p${item.msn}.${item.part}`;
}
