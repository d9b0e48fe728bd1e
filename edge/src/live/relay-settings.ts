// Settings of the playlist relay tier, parsed from the Worker's loose environment (vars wrangler.jsonc leaves out).
import { DEFAULT_PLAYLIST_STALENESS_MS } from "./latest-playlists.ts";
import { parseRelayTier, type RelayTier } from "./relay-tier.ts";

/** PLAYLIST_STALENESS_MS, RELAY_TIER_REGIONS and TEST_RELAY_LOCATION_HEADER, parsed. */
export interface RelaySettings {
  /** PLAYLIST_STALENESS_MS: most a relay answers plain reloads from a playlist it has, in ms (default 500; 0 never). */
  playlistStalenessMs: number;
  /** TEST_RELAY_LOCATION_HEADER: tests and benches only — a request header naming the relay location (default none). */
  relayLocationHeader: string | null;
  /** RELAY_TIER_REGIONS: which region's relay a location's relay asks instead of the stream's object (relay-tier.ts). */
  relayTier: RelayTier;
}

/** Parses the relay settings; throws on a PLAYLIST_STALENESS_MS outside 0..10000 or a malformed RELAY_TIER_REGIONS. */
export function parseRelaySettings(vars: Record<string, string | undefined>): RelaySettings {
  const raw = vars.PLAYLIST_STALENESS_MS;
  const staleness = raw === undefined || raw === "" ? DEFAULT_PLAYLIST_STALENESS_MS : Number(raw);
  if (!Number.isInteger(staleness) || staleness < 0 || staleness > 10_000) {
    throw new Error(`PLAYLIST_STALENESS_MS must be an integer from 0 to 10000, got "${raw}"`);
  }
  return {
    playlistStalenessMs: staleness,
    relayLocationHeader: vars.TEST_RELAY_LOCATION_HEADER?.trim().toLowerCase() || null,
    relayTier: parseRelayTier(vars.RELAY_TIER_REGIONS),
  };
}
