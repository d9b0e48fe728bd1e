// The Worker's configuration, parsed once per isolate from its environment bindings.
import { REGION_PATTERN } from "../../protocol/names.ts";
import { DEFAULT_HEALTH_HISTORY_SAMPLES } from "./live/health-history.ts";
import { DEFAULT_MAX_HELD_REQUESTS } from "./live/playlist-coalescer.ts";
import type { RetryPolicy } from "./live/outbox.ts";
import { parseRelaySettings, type RelaySettings } from "./live/relay-settings.ts";
import { type HostPatterns, parseHostPatterns } from "./streams/ingest-host-policy.ts";
import { MAX_DVR_WINDOW_SECONDS } from "./streams/stream-input.ts";

/** Parsed, validated configuration of the edge Worker. */
export interface EdgeConfig {
  publicUrl: string | null;
  /** Known regions and each one's default RTMP server URL. */
  regions: Record<string, string>;
  defaultRegion: string;
  /** REGION_BY_CONTINENT: continent (`EU`) or `country:XX` -> regions nearest first; null derives it from region names. */
  regionByContinent: Record<string, string[]> | null;
  /** NODE_HEALTHY_SECONDS: an ingest node silent this long is unhealthy (default 15). */
  nodeHealthySeconds: number;
  /** NODE_REGISTRATION_SECONDS: lifetime of a credential a node registers with INGEST_SECRET (default 86400). */
  nodeRegistrationSeconds: number;
  /** INGEST_HOST_PATTERN: hosts a node may advertise besides its region's INGEST_REGIONS host (default none). */
  ingestHostPatterns: HostPatterns;
  reconnectWindowSeconds: number;
  maxJsonBytes: number;
  maxMediaBytes: number;
  /** COALESCE_PLAYLISTS: media playlist requests for the same answer share one call per isolate ("0" off). */
  coalescePlaylists: boolean;
  /** RELAY_PLAYLISTS: blocked LL-HLS playlist requests go through the stream's relay at their location ("0" off). */
  relayPlaylists: boolean;
  /** MAX_HELD_REQUESTS: blocked LL-HLS playlist and hinted-part requests one stream object, relay or isolate holds (default 5000). */
  maxHeldRequests: number;
  /** PLAYLIST_STALENESS_MS (default 500) and TEST_RELAY_LOCATION_HEADER (tests only): see live/relay-settings.ts. */
  playlistStalenessMs: RelaySettings["playlistStalenessMs"];
  relayLocationHeader: RelaySettings["relayLocationHeader"];
  /** RELAY_TIER_REGIONS (default "continent"; "off"; or region=LOC LOC;...): the regional relay tier, live/relay-tier.ts. */
  relayTier: RelaySettings["relayTier"];
  /** Per-user quotas (the admin is exempt): MAX_STREAMS_PER_USER (100), MAX_CLIPS_PER_STREAM (200),
   *  MAX_WEBHOOKS_PER_USER (20), MAX_TOKENS_PER_USER (50 unexpired, unrevoked API tokens). */
  quotas: { streamsPerUser: number; clipsPerStream: number; webhooksPerUser: number; tokensPerUser: number };
  /** DOWNLOAD_MAX_SEGMENTS: most segments an MP4 download may join (each is an R2 read of the request; default 7200). */
  downloadMaxSegments: number;
  /** FINALIZE_MAX_ATTEMPTS (10) and FINALIZE_RETRY_BASE_SECONDS (2, doubled per attempt, at most 10 minutes): how
   *  often a stream object's end-of-broadcast steps (ledger, webhooks, VOD, media release) are tried (live/outbox.ts). */
  finalizeRetry: RetryPolicy;
  /** HEALTH_HISTORY_SAMPLES: health samples (one per node heartbeat, ~2 s) a stream's object keeps, an hour at most (default 1800). */
  healthHistorySamples: number;
  /** DVR_MAX_WINDOW_SECONDS: the longest dvr_window a stream may set (default 14400, 4 h; at most 86400). */
  dvrMaxWindowSeconds: number;
  /** STORYBOARD_MAX_SHEETS: storyboard sprite sheets one publish may store (default 100: 2500 tiles, ~7 h at 10 s). */
  storyboardMaxSheets: number;
  /** WORKER_GRANT_LIFETIME_S: lifetime of a transcoding pool's worker grant (default 900, at least 10); the node renews it
   *  through its stream heartbeats once half of it has passed. */
  workerGrantLifetimeSeconds: number;
}

const cache = new WeakMap<object, EdgeConfig>();

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

function parseRegions(raw: string | undefined): Record<string, string> {
  const parsed: unknown = JSON.parse(raw || "{}");
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error("INGEST_REGIONS must be a JSON object of region -> rtmp:// URL");
  }
  const regions: Record<string, string> = {};
  for (const [name, url] of Object.entries(parsed)) {
    if (!REGION_PATTERN.test(name) || typeof url !== "string" || !/^rtmps?:\/\/[^\s]+$/.test(url)) {
      throw new Error(`INGEST_REGIONS has an invalid entry "${name}"`);
    }
    regions[name] = url.replace(/\/+$/, "");
  }
  return regions;
}

function parseRegionTable(raw: string | undefined): Record<string, string[]> | null {
  if (raw === undefined || raw.trim() === "") return null;
  const parsed: unknown = JSON.parse(raw);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error('REGION_BY_CONTINENT must be a JSON object such as {"EU":["eu","us"],"country:BR":["sa"]}');
  }
  const table: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(parsed)) {
    const regions = typeof value === "string" ? [value] : value;
    if (!/^([A-Z]{2}|country:[A-Z]{2})$/.test(key) || !Array.isArray(regions) || !regions.every((r) => typeof r === "string" && REGION_PATTERN.test(r))) {
      throw new Error(`REGION_BY_CONTINENT has an invalid entry "${key}"`);
    }
    table[key] = regions as string[];
  }
  return table;
}

// Read from the loose env: optional vars that wrangler.jsonc leaves out, so they need no generated Env field.
function quotaSettings(vars: Record<string, string | undefined>): EdgeConfig["quotas"] {
  return {
    streamsPerUser: positiveInt("MAX_STREAMS_PER_USER", vars.MAX_STREAMS_PER_USER, 100),
    clipsPerStream: positiveInt("MAX_CLIPS_PER_STREAM", vars.MAX_CLIPS_PER_STREAM, 200),
    webhooksPerUser: positiveInt("MAX_WEBHOOKS_PER_USER", vars.MAX_WEBHOOKS_PER_USER, 20),
    tokensPerUser: positiveInt("MAX_TOKENS_PER_USER", vars.MAX_TOKENS_PER_USER, 50),
  };
}

function finalizeRetry(vars: Record<string, string | undefined>): RetryPolicy {
  return {
    maxAttempts: positiveInt("FINALIZE_MAX_ATTEMPTS", vars.FINALIZE_MAX_ATTEMPTS, 10),
    baseDelayMs: positiveInt("FINALIZE_RETRY_BASE_SECONDS", vars.FINALIZE_RETRY_BASE_SECONDS, 2) * 1000,
  };
}

// A node renews its grant at half its life through heartbeats 2 s apart: under 10 s, one lost heartbeat could let it lapse.
function workerGrantLifetime(raw: string | undefined): number {
  const seconds = positiveInt("WORKER_GRANT_LIFETIME_S", raw, 900);
  if (seconds < 10) throw new Error(`WORKER_GRANT_LIFETIME_S must be at least 10, got "${raw}"`);
  return seconds;
}

/** Reads the configuration from `env` (memoized per env object). */
export function getConfig(env: Env): EdgeConfig {
  const cached = cache.get(env);
  if (cached) return cached;
  const regions = parseRegions(env.INGEST_REGIONS);
  const defaultRegion = env.DEFAULT_REGION || Object.keys(regions)[0] || "local";
  if (!regions[defaultRegion]) regions[defaultRegion] = "rtmp://127.0.0.1:1935/live";
  const config: EdgeConfig = {
    publicUrl: env.PUBLIC_URL ? env.PUBLIC_URL.replace(/\/+$/, "") : null,
    regions,
    defaultRegion,
    regionByContinent: parseRegionTable(env.REGION_BY_CONTINENT),
    nodeHealthySeconds: positiveInt("NODE_HEALTHY_SECONDS", env.NODE_HEALTHY_SECONDS, 15),
    nodeRegistrationSeconds: positiveInt("NODE_REGISTRATION_SECONDS", env.NODE_REGISTRATION_SECONDS, 86400),
    ingestHostPatterns: parseHostPatterns(env.INGEST_HOST_PATTERN),
    reconnectWindowSeconds: positiveInt("RECONNECT_WINDOW_SECONDS", env.RECONNECT_WINDOW_SECONDS, 60),
    maxJsonBytes: positiveInt("MAX_JSON_BYTES", env.MAX_JSON_BYTES, 64 * 1024),
    maxMediaBytes: positiveInt("MAX_MEDIA_BYTES", env.MAX_MEDIA_BYTES, 32 * 1024 * 1024),
    coalescePlaylists: env.COALESCE_PLAYLISTS !== "0",
    relayPlaylists: env.RELAY_PLAYLISTS !== "0",
    ...parseRelaySettings(env as unknown as Record<string, string | undefined>),
    quotas: quotaSettings(env as unknown as Record<string, string | undefined>),
    maxHeldRequests: positiveInt("MAX_HELD_REQUESTS", env.MAX_HELD_REQUESTS, DEFAULT_MAX_HELD_REQUESTS),
    downloadMaxSegments: positiveInt("DOWNLOAD_MAX_SEGMENTS", (env as unknown as Record<string, string | undefined>).DOWNLOAD_MAX_SEGMENTS, 7200),
    finalizeRetry: finalizeRetry(env as unknown as Record<string, string | undefined>),
    healthHistorySamples: positiveInt(
      "HEALTH_HISTORY_SAMPLES",
      (env as unknown as Record<string, string | undefined>).HEALTH_HISTORY_SAMPLES,
      DEFAULT_HEALTH_HISTORY_SAMPLES,
    ),
    dvrMaxWindowSeconds: Math.min(
      MAX_DVR_WINDOW_SECONDS,
      positiveInt("DVR_MAX_WINDOW_SECONDS", (env as unknown as Record<string, string | undefined>).DVR_MAX_WINDOW_SECONDS, 14_400),
    ),
    storyboardMaxSheets: positiveInt("STORYBOARD_MAX_SHEETS", (env as unknown as Record<string, string | undefined>).STORYBOARD_MAX_SHEETS, 100),
    workerGrantLifetimeSeconds: workerGrantLifetime((env as unknown as Record<string, string | undefined>).WORKER_GRANT_LIFETIME_S),
  };
  cache.set(env, config);
  return config;
}
