// The dashboard's one door to the control API: every call the pages make, with the bearer token, JSON in and out,
// and problem+json answers turned into ApiError. The answer types mirror the API's OpenAPI document
// (edge/src/openapi/schemas.ts); when the generated schema (api/schema.d.ts) is there, this module is where
// openapi-fetch takes over, so no page changes.
import type { LatencyMode } from "../../../../protocol/latency.ts";

/** A stream as the API answers it (`stream_key` only in the create and rotate answers). */
export interface Stream {
  stream_id: string;
  owner_user_id: string;
  status: "live" | "offline";
  ingest_endpoint: string;
  ingest_server: string;
  playback_manifest_url: string;
  latency_mode: LatencyMode;
  started_at: string | null;
  title: string;
  tags: string[];
  region: string;
  record: boolean;
  part_target: number | null;
  reconnect_window: number;
  playback_policy: "public" | "signed";
  encryption: "none" | "aes-128";
  key_rotation: number;
  created_at: string;
  updated_at: string;
  stream_key?: string;
  /** Publish URLs of other protocols, when the edge offers them. */
  whip_url?: string;
  srt_url?: string;
}

/** `POST /streams` body. */
export interface StreamCreate {
  title: string;
  tags?: string[];
  latency_mode?: LatencyMode;
  region?: string;
  record?: boolean;
  playback_policy?: "public" | "signed";
  encryption?: "none" | "aes-128";
}

/** `GET /streams` filters. */
export interface StreamQuery {
  status?: "live" | "offline";
  tag?: string;
  cursor?: string;
  limit?: number;
}

/** `GET /streams/:id/status`. */
export interface StreamStatus {
  status: "live" | "offline";
  started_at: string | null;
  viewers: number;
  bitrate_kbps: number;
  renditions: { name: string; width: number; height: number; bandwidth: number; frame_rate: number }[];
  health: {
    ingest_connected: boolean;
    last_segment_age_s: number | null;
    fps: number | null;
    encoder_speed: number | null;
    upload_backlog: number | null;
    pipeline: string | null;
  };
  region: string;
}

/** One sample of `GET /streams/:id/health`. */
export interface HealthSample {
  at: string;
  input_kbps: number;
  fps: number;
  encoder_speed: number;
  last_segment_age_s: number | null;
  upload_backlog: number;
  viewers: number;
  rendition_lag_s: Record<string, number | null>;
}

/** A recorded broadcast. */
export interface Vod {
  vod_id: string;
  stream_id: string;
  status: string;
  duration_s: number | null;
  renditions: string[];
  started_at: string | null;
  ended_at: string | null;
  created_at: string;
  playback_url: string;
  poster_url: string;
  download_url: string;
}

/** A highlight clip. */
export interface Clip {
  clip_id: string;
  stream_id: string;
  status: string;
  title: string | null;
  start_time: string;
  duration_s: number;
  created_at: string;
  playback_url: string;
  download_url: string;
}

/** `POST /streams/:id/clips` body (from a VOD, by offset into its broadcast). */
export interface ClipCreate {
  vod_id: string;
  start_offset: number;
  duration: number;
  title?: string;
}

/** Webhook event types. */
export const WEBHOOK_EVENTS = ["stream.live", "stream.offline", "vod.ready", "clip.ready"] as const;

/** A webhook endpoint (`secret` only in the create answer). */
export interface Webhook {
  id: string;
  url: string;
  events: (typeof WEBHOOK_EVENTS)[number][];
  created_at: string;
  secret?: string;
}

/** `GET /regions`, as far as the dashboard reads it. */
export interface Regions {
  regions: { region: string }[];
  default_region: string;
}

/** A signed playback token and the URLs that carry it. */
export interface PlaybackToken {
  token: string;
  expires_at: string;
  playback_url: string;
  watch_url: string;
}

/** An error answer of the API (application/problem+json), or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId: string | null;

  constructor(status: number, code: string, detail: string, requestId: string | null = null) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.requestId = requestId;
  }
}

/** The API calls of the dashboard, bound to one token. */
export type ApiClient = ReturnType<typeof apiClient>;

/**
 * A client that sends `token`; `onUnauthorized` hears every 401 (a revoked or expired token) before the call
 * rejects, so the page can go back to sign-in.
 */
export function apiClient(token: string, onUnauthorized: (error: ApiError) => void) {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new ApiError(0, "network", `The edge did not answer (${(err as Error).message}).`);
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: described below
    }
    if (!response.ok) {
      const problem = (parsed ?? {}) as { code?: string; detail?: string; title?: string; request_id?: string };
      const error = new ApiError(
        response.status,
        problem.code ?? "error",
        problem.detail ?? problem.title ?? `${response.status} ${response.statusText}`,
        problem.request_id ?? null,
      );
      if (response.status === 401) onUnauthorized(error);
      throw error;
    }
    return parsed as T;
  }
  const query = (params: Record<string, string | number | undefined>): string => {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== "") search.set(key, String(value));
    const text = search.toString();
    return text ? `?${text}` : "";
  };
  const id = encodeURIComponent;
  return {
    listStreams: (q: StreamQuery = {}) => call<{ streams: Stream[]; next_cursor: string | null }>("GET", `/streams${query({ ...q })}`),
    createStream: (body: StreamCreate) => call<Stream>("POST", "/streams", body),
    getStream: (streamId: string) => call<Stream>("GET", `/streams/${id(streamId)}`),
    rotateKey: (streamId: string) => call<Stream>("POST", `/streams/${id(streamId)}/key`),
    start: (streamId: string) => call<Stream>("POST", `/streams/${id(streamId)}/start`),
    stop: (streamId: string) => call<Stream>("POST", `/streams/${id(streamId)}/stop`),
    status: (streamId: string) => call<StreamStatus>("GET", `/streams/${id(streamId)}/status`),
    health: (streamId: string, since?: string) =>
      call<{ samples: HealthSample[]; window_s: number }>("GET", `/streams/${id(streamId)}/health${query({ since })}`),
    playbackToken: (streamId: string) => call<PlaybackToken>("POST", `/streams/${id(streamId)}/playback-tokens`, {}),
    listVods: (streamId: string) => call<{ vods: Vod[] }>("GET", `/streams/${id(streamId)}/vods`),
    deleteVod: (vodId: string) => call<void>("DELETE", `/vods/${id(vodId)}`),
    listClips: (streamId: string) => call<{ clips: Clip[] }>("GET", `/streams/${id(streamId)}/clips`),
    createClip: (streamId: string, body: ClipCreate) => call<Clip>("POST", `/streams/${id(streamId)}/clips`, body),
    deleteClip: (clipId: string) => call<void>("DELETE", `/clips/${id(clipId)}`),
    listWebhooks: () => call<{ webhooks: Webhook[] }>("GET", "/webhooks"),
    createWebhook: (body: { url: string; events?: Webhook["events"] }) => call<Webhook>("POST", "/webhooks", body),
    deleteWebhook: (webhookId: string) => call<void>("DELETE", `/webhooks/${id(webhookId)}`),
    regions: () => call<Regions>("GET", "/regions"),
  };
}
