// VODs and clips as the control API shows them, and the lookups that find one the caller may see.
import { eq } from "drizzle-orm";
import { isStreamId } from "../../../protocol/names.ts";
import type { AppContext } from "../app-env.ts";
import { database } from "../db/client.ts";
import { clips, vodAssets } from "../db/schema.ts";
import { notFound } from "../errors.ts";
import { publicOrigin } from "../http/public-origin.ts";
import { getStream } from "../streams/stream-repository.ts";
import type { AssetRendition } from "../vod/vod-playlist.ts";
import { downloadPath } from "./downloads.ts";

/** A row of `vod_assets`. */
export type VodRow = typeof vodAssets.$inferSelect;
/** A row of `clips`. */
export type ClipRow = typeof clips.$inferSelect;

/** The VOD object of the control API. */
export function vodView(c: AppContext, row: VodRow) {
  return {
    vod_id: row.id,
    stream_id: row.streamId,
    status: row.status,
    duration_s: row.durationS,
    segment_count: row.segmentCount,
    renditions: (JSON.parse(row.renditions) as AssetRendition[]).map((r) => r.name),
    started_at: row.startedAt,
    ended_at: row.endedAt,
    created_at: row.createdAt,
    ready_at: row.readyAt,
    playback_url: `${publicOrigin(c)}/vod/${row.id}/master.m3u8`,
    poster_url: `${publicOrigin(c)}/vod/${row.id}/poster.jpg`,
    download_url: `${publicOrigin(c)}${downloadPath("vod", row.id)}`,
  };
}

/** The clip object of the control API. */
export function clipView(c: AppContext, row: ClipRow) {
  return {
    clip_id: row.id,
    stream_id: row.streamId,
    status: row.status,
    title: row.title,
    start_time: row.startAt,
    duration_s: row.durationS,
    created_at: row.createdAt,
    ready_at: row.readyAt,
    playback_url: `${publicOrigin(c)}/clips/${row.id}/master.m3u8`,
    download_url: `${publicOrigin(c)}${downloadPath("clips", row.id)}`,
  };
}

/** The path parameter `name` if it is a UUID; else 404 naming `what`. */
export function uuidParam(c: AppContext, name: string, what: string): string {
  const id = c.req.param(name) ?? "";
  if (!isStreamId(id)) throw notFound(`${what} "${id.slice(0, 64)}"`);
  return id;
}

/** `row` if it exists and the caller may see its stream; else 404 naming `what` (another owner's asset is not found). */
async function visibleToCaller<Row extends { streamId: string }>(c: AppContext, row: Row | undefined, what: string): Promise<Row> {
  if (!row) throw notFound(what);
  await getStream(database(c.env), c.get("principal"), row.streamId).catch(() => {
    throw notFound(what);
  });
  return row;
}

/** The VOD `id` if the caller may see its stream. */
export async function ownedVod(c: AppContext, id: string): Promise<VodRow> {
  const [row] = await database(c.env).select().from(vodAssets).where(eq(vodAssets.id, id)).limit(1);
  return visibleToCaller(c, row, `VOD "${id}"`);
}

/** The clip `id` if the caller may see its stream. */
export async function ownedClip(c: AppContext, id: string): Promise<ClipRow> {
  const [row] = await database(c.env).select().from(clips).where(eq(clips.id, id)).limit(1);
  return visibleToCaller(c, row, `Clip "${id}"`);
}
