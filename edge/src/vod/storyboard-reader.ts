// A VOD's storyboard from what is stored: its media playlist (where each publish epoch lies) and each epoch's
// storyboard index (how many tiles its sheets hold), turned into WebVTT cues (storyboard-vtt.ts).
import { StoryboardIndexSchema } from "../../../protocol/ingest.ts";
import { tilesPerSheet } from "../../../protocol/storyboard.ts";
import type { MediaStore } from "../storage/media-store.ts";
import { epochSpans } from "./storyboard-timeline.ts";
import { type EpochStoryboard, type StoryboardCue, storyboardCues } from "./storyboard-vtt.ts";

/** What a stored index says an epoch's storyboard holds, or null when it has none (or a malformed one). */
export function epochStoryboard(index: unknown): EpochStoryboard | null {
  const parsed = StoryboardIndexSchema.safeParse(index);
  if (!parsed.success) return null;
  const meta = parsed.data;
  const grid = { tileWidth: meta.tile_width, tileHeight: meta.tile_height, columns: meta.columns, rows: meta.rows };
  // Every sheet before the latest is full (the node fills them in order).
  return { intervalS: meta.interval_s, grid, tiles: meta.sheet * tilesPerSheet(grid) + meta.tiles };
}

/** A VOD's storyboard cues; null when it has no playlist. */
export async function readVodStoryboard(
  store: MediaStore,
  vod: { id: string; streamId: string; rendition: string },
  spriteUri: (epoch: number, sheet: number) => string,
): Promise<{ cues: StoryboardCue[] } | null> {
  const playlist = await store.readAssetPlaylist("vod", vod.id, vod.rendition);
  if (playlist === null) return null;
  const { spans, duration } = epochSpans(playlist);
  const boards = new Map<number, EpochStoryboard>();
  await Promise.all(
    spans.map(async (span) => {
      const board = epochStoryboard(await store.readStoryboardIndex(vod.streamId, span.epoch));
      if (board) boards.set(span.epoch, board);
    }),
  );
  return { cues: storyboardCues(spans, boards, duration, spriteUri) };
}

/** The publish epochs a VOD recorded (from its media playlist); null when it has no playlist. */
export async function vodEpochs(store: MediaStore, vod: { id: string; rendition: string }): Promise<Set<number> | null> {
  const playlist = await store.readAssetPlaylist("vod", vod.id, vod.rendition);
  return playlist === null ? null : new Set(epochSpans(playlist).spans.map((span) => span.epoch));
}
