// The stream object as the API shows it: the seed's data model plus key, server and settings.
import { DEFAULT_KEY_ROTATION, type EncryptionSetting } from "../../../protocol/content-keys.ts";
import type { LatencyMode } from "../../../protocol/latency.ts";
import type { StreamRow } from "./stream-repository.ts";
import type { PlaybackPolicy, StreamSettings } from "./stream-input.ts";

/** The JSON stream object of the control API. */
export interface StreamView {
  stream_id: string;
  owner_user_id: string;
  status: "live" | "offline";
  ingest_endpoint: string;
  ingest_server: string;
  /**
   * SRT publish URL of the node behind `ingest_server` (`srt://host:port`, with `?streamid=<key>` in the create and
   * rotate answers), or null when that node offers no SRT.
   */
  srt_url: string | null;
  /**
   * WHIP publish URL (`<node>/whip/<stream id>`; the stream key goes in `Authorization: Bearer`) of the node behind
   * `ingest_server`, or null when that node offers no WHIP.
   */
  whip_url: string | null;
  playback_manifest_url: string;
  latency_mode: LatencyMode;
  started_at: string | null;
  title: string;
  tags: string[];
  region: string;
  record: boolean;
  part_target: number | null;
  reconnect_window: number;
  /** "signed" when playback needs a token (`POST /streams/:id/playback-tokens`). */
  playback_policy: PlaybackPolicy;
  /** "aes-128" when broadcasts are encrypted (a change applies from the next broadcast on). */
  encryption: EncryptionSetting;
  /** Segments per content key of an encrypted broadcast. */
  key_rotation: number;
  /** Seconds of the broadcast its live playlists list behind the live edge for rewinding; 0: no DVR. */
  dvr_window: number;
  created_at: string;
  updated_at: string;
  stream_key?: string;
}

/** The playback URL of a stream's multivariant playlist under `origin`. */
export function playbackUrl(origin: string, streamId: string): string {
  return `${origin}/live/${streamId}/master.m3u8`;
}

/** Parses the stored settings JSON. */
export function streamSettings(row: StreamRow): StreamSettings {
  return JSON.parse(row.settings) as StreamSettings;
}

/**
 * Renders a row. With `streamKey` (create and rotate only) `ingest_endpoint` is the full publish URL ffmpeg takes;
 * otherwise it is the server part OBS calls "Server", which is always `ingest_server` too.
 */
export function renderStream(row: StreamRow, opts: { origin: string; defaultReconnectWindow: number; streamKey?: string }): StreamView {
  const settings = streamSettings(row);
  const view: StreamView = {
    stream_id: row.id,
    owner_user_id: row.ownerUserId,
    status: row.status,
    ingest_endpoint: opts.streamKey ? `${row.ingestEndpoint}/${opts.streamKey}` : row.ingestEndpoint,
    ingest_server: row.ingestEndpoint,
    srt_url: row.srtServer ? (opts.streamKey ? `${row.srtServer}?streamid=${opts.streamKey}` : row.srtServer) : null,
    whip_url: row.whipServer ? `${row.whipServer}/whip/${row.id}` : null,
    playback_manifest_url: playbackUrl(opts.origin, row.id),
    latency_mode: row.latencyMode,
    started_at: row.startedAt,
    title: row.title,
    tags: JSON.parse(row.tags) as string[],
    region: row.region,
    record: row.record,
    part_target: row.latencyMode === "interactive" ? (settings.part_target ?? 0.5) : null,
    reconnect_window: settings.reconnect_window ?? opts.defaultReconnectWindow,
    playback_policy: settings.playback_policy ?? "public",
    encryption: settings.encryption ?? "none",
    key_rotation: settings.key_rotation ?? DEFAULT_KEY_ROTATION,
    dvr_window: settings.dvr_window ?? 0,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
  if (opts.streamKey) view.stream_key = opts.streamKey;
  return view;
}
