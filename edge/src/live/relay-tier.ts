// The regional relay tier (RELAY_TIER_REGIONS): between the relays of a stream's edge locations and the stream's object
// sits one more PlaylistRelay per stream per region, so the object's playlist load grows with regions, not locations.
// Which region a location belongs to is decided here; how long each holder may keep a plain playlist too. Pure: no
// Worker API.

/** How locations are grouped into tier regions: not at all, by the request's continent, or by an explicit table. */
export type RelayTier = { kind: "off" } | { kind: "continent" } | { kind: "table"; regionOf: ReadonlyMap<string, string> };

/** Default of RELAY_TIER_REGIONS: one region relay per stream per continent. */
export const DEFAULT_RELAY_TIER = "continent";

const REGION_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
const LOCATION_NAME = /^[A-Z]{3}$/;

/**
 * Parses RELAY_TIER_REGIONS: `off`, `continent` (default), or a table `region=LOC LOC ...; region2=LOC ...` (regions
 * lower-case letters, digits and dashes; locations three-letter colo codes, each in one region). Throws on anything else.
 */
export function parseRelayTier(raw: string | undefined): RelayTier {
  const value = (raw ?? "").trim() || DEFAULT_RELAY_TIER;
  if (value === "off") return { kind: "off" };
  if (value === "continent") return { kind: "continent" };
  const regionOf = new Map<string, string>();
  for (const entry of value.split(";")) {
    if (entry.trim() === "") continue;
    const [region, locations, extra] = entry.split("=").map((s) => s.trim());
    if (!region || !REGION_NAME.test(region) || locations === undefined || extra !== undefined) {
      throw new Error(`RELAY_TIER_REGIONS: "${entry.trim().slice(0, 64)}" is not region=LOC LOC ... (or use "off" or "continent")`);
    }
    for (const location of locations.split(/[\s,]+/).filter(Boolean)) {
      if (!LOCATION_NAME.test(location)) throw new Error(`RELAY_TIER_REGIONS: "${location.slice(0, 16)}" is not a three-letter location code`);
      const already = regionOf.get(location);
      if (already !== undefined && already !== region) throw new Error(`RELAY_TIER_REGIONS: location ${location} is in both ${already} and ${region}`);
      regionOf.set(location, region);
    }
  }
  if (regionOf.size === 0) throw new Error(`RELAY_TIER_REGIONS names no location: "${value.slice(0, 64)}"`);
  return { kind: "table", regionOf };
}

/**
 * The tier region of an edge `location` (a relay location: `cf.colo` or "local"), or null when its relay asks the
 * stream's object directly: the tier is off, or a table does not list the location. With `continent`, the request's
 * `cf.continent` (two letters) names it; a request without one goes to region "local".
 */
export function tierRegion(tier: RelayTier, location: string, continent: unknown): string | null {
  if (tier.kind === "off") return null;
  if (tier.kind === "table") return tier.regionOf.get(location) ?? null;
  return typeof continent === "string" && /^[A-Z]{2}$/.test(continent) ? continent.toLowerCase() : "local";
}

/** The part of the staleness bound each holder of a plain playlist may spend (fractions of PLAYLIST_STALENESS_MS's bound). */
export interface StalenessShares {
  /** A Worker isolate's latest playlists (when COALESCE_PLAYLISTS is on). */
  isolate: number;
  /** A location's relay. */
  location: number;
  /** A region's relay. */
  region: number;
}

/**
 * How the staleness bound is split among the holders a plain reload may be answered by. Each holder dates a playlist it
 * keeps at the moment it made the call that brought it, and the holder above rendered or fetched it no earlier than its
 * own call, which it made at most its own share before; so a playlist handed down a chain of holders is at most the sum
 * of their shares old, and a viewer never sees one older than the bound if the shares add up to at most 1. A split needs
 * no clock shared between objects (each holder measures only its own durations), which carrying an age along would not
 * give more cheaply. The region gets half, because it alone stands before the stream's object: the object then sees at
 * most one plain call per region per rendition per half bound, as it did per location without the tier; the location
 * and the isolates split the other half, so they ask upward more often, which the region absorbs. `tiered`: this
 * location has a region (see tierRegion); the isolate's share assumes it may have one whenever the tier is not off.
 */
export function stalenessShares(coalesceInIsolates: boolean, tiered: boolean): StalenessShares {
  if (!tiered) return coalesceInIsolates ? { isolate: 0.5, location: 0.5, region: 0 } : { isolate: 0, location: 1, region: 0 };
  return coalesceInIsolates ? { isolate: 0.25, location: 0.25, region: 0.5 } : { isolate: 0, location: 0.5, region: 0.5 };
}
