// Which ingest endpoint a stream gets: a pure choice over the registered nodes (plus the D1 read that feeds it).
//
// Order: the requested region, if one of its nodes is healthy (its least-loaded node); else the region nearest the
// caller (request.cf continent/country through REGION_BY_CONTINENT) that has a healthy node; else the least-loaded
// healthy node anywhere; else the region's configured default URL from INGEST_REGIONS, so a `wrangler dev` with no
// node registered behaves exactly as before nodes reported themselves.
// No Worker types here (the D1 binding is drizzle's AnyD1Database), so unit tests run the pure part under Node.
import { isNotNull } from "drizzle-orm";
import { type AnyD1Database, drizzle } from "drizzle-orm/d1";
import { ingestNodes } from "../db/schema.ts";
import { AppError } from "../errors.ts";

/** A registered ingest node as the registry knows it. */
export interface RegisteredNode {
  id: string;
  region: string;
  rtmpUrl: string;
  load: number;
  activeStreams: number;
  /** ISO-8601 time of its last heartbeat (null: never heard from). */
  lastHeartbeatAt: string | null;
}

/** Where the caller is, as Cloudflare sees it (`request.cf`). */
export interface CallerLocation {
  country?: string | null;
  continent?: string | null;
}

/** Region table: continent code (`EU`, `NA`, ...) or `country:XX` -> regions, nearest first. */
export type RegionTable = Record<string, string[]>;

/** Why a region was chosen. */
export type IngestChoiceReason = "requested" | "nearest" | "least-loaded" | "configured-default";

/** The chosen ingest endpoint. */
export interface IngestChoice {
  region: string;
  /** RTMP server URL (`rtmp://host:port/live`): what OBS calls "Server". */
  ingestServer: string;
  /** The node picked, or null when the configured default URL was used. */
  nodeId: string | null;
  reason: IngestChoiceReason;
}

/** Everything the choice depends on. */
export interface IngestSelectionInput {
  /** The region the client asked for (already known to exist), or null. */
  requested: string | null;
  /** INGEST_REGIONS: region -> default RTMP server URL. */
  configured: Record<string, string>;
  defaultRegion: string;
  nodes: RegisteredNode[];
  caller: CallerLocation;
  /** REGION_BY_CONTINENT, or null to derive a table from the region names. */
  regionTable: RegionTable | null;
  now: number;
  /** A node silent for this long is unhealthy. */
  healthyMs: number;
}

/** Continent codes of `request.cf.continent`. */
export const CONTINENTS = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"] as const;
type Continent = (typeof CONTINENTS)[number];

/** Continents by distance from each continent (itself first): the order the derived table tries regions in. */
const CONTINENT_ORDER: Record<Continent, Continent[]> = {
  EU: ["EU", "AF", "NA", "AS", "SA", "OC"],
  NA: ["NA", "SA", "EU", "AS", "OC", "AF"],
  SA: ["SA", "NA", "EU", "AF", "OC", "AS"],
  AS: ["AS", "OC", "EU", "NA", "AF", "SA"],
  OC: ["OC", "AS", "NA", "SA", "EU", "AF"],
  AF: ["AF", "EU", "AS", "SA", "NA", "OC"],
  AN: ["OC", "SA", "AF", "AS", "NA", "EU"],
};

/** First word of a region name (`eu-west-1` -> `eu`) -> the continent it is on. */
const REGION_WORDS: Record<string, Continent> = {
  eu: "EU",
  europe: "EU",
  uk: "EU",
  gb: "EU",
  de: "EU",
  fr: "EU",
  nl: "EU",
  ie: "EU",
  es: "EU",
  it: "EU",
  se: "EU",
  pl: "EU",
  ams: "EU",
  fra: "EU",
  lhr: "EU",
  cdg: "EU",
  us: "NA",
  na: "NA",
  ca: "NA",
  mx: "NA",
  america: "NA",
  iad: "NA",
  ewr: "NA",
  ord: "NA",
  dfw: "NA",
  lax: "NA",
  sjc: "NA",
  sea: "NA",
  yyz: "NA",
  sa: "SA",
  br: "SA",
  latam: "SA",
  ar: "SA",
  cl: "SA",
  co: "SA",
  gru: "SA",
  ap: "AS",
  asia: "AS",
  jp: "AS",
  kr: "AS",
  sg: "AS",
  in: "AS",
  hk: "AS",
  tw: "AS",
  cn: "AS",
  me: "AS",
  il: "AS",
  nrt: "AS",
  sin: "AS",
  bom: "AS",
  icn: "AS",
  oc: "OC",
  au: "OC",
  nz: "OC",
  oceania: "OC",
  syd: "OC",
  akl: "OC",
  af: "AF",
  africa: "AF",
  za: "AF",
  ng: "AF",
  ke: "AF",
  eg: "AF",
  jnb: "AF",
};

/** The continent a region name suggests (`eu-west-1` -> EU), or null (`local`). */
export function continentOfRegion(region: string): Continent | null {
  return REGION_WORDS[region.split("-")[0] ?? ""] ?? null;
}

/** The table used when REGION_BY_CONTINENT is not set: every region with a recognizable name, nearest first. */
export function derivedRegionTable(regions: string[]): RegionTable {
  const byContinent = new Map<Continent, string[]>();
  for (const region of [...regions].sort()) {
    const continent = continentOfRegion(region);
    if (continent) byContinent.set(continent, [...(byContinent.get(continent) ?? []), region]);
  }
  const table: RegionTable = {};
  for (const continent of CONTINENTS) table[continent] = CONTINENT_ORDER[continent].flatMap((c) => byContinent.get(c) ?? []);
  return table;
}

/** Regions nearest the caller first: its country's entry (`country:FR`), then its continent's; empty when unknown. */
export function nearestRegions(caller: CallerLocation, table: RegionTable): string[] {
  const out: string[] = [];
  const add = (regions: string[] | undefined) => {
    for (const region of regions ?? []) if (!out.includes(region)) out.push(region);
  };
  if (caller.country) add(table[`country:${caller.country.toUpperCase()}`]);
  if (caller.continent) add(table[caller.continent.toUpperCase()]);
  return out;
}

/** True when the node heartbeated within `healthyMs` of `now` and advertises an RTMP URL. */
export function isHealthy(node: RegisteredNode, now: number, healthyMs: number): boolean {
  if (!node.lastHeartbeatAt || !node.rtmpUrl) return false;
  const at = Date.parse(node.lastHeartbeatAt);
  return Number.isFinite(at) && now - at < healthyMs;
}

/** Least loaded first: load, then active streams, then the freshest heartbeat, then id (a stable order). */
export function byLoad(a: RegisteredNode, b: RegisteredNode): number {
  return a.load - b.load || a.activeStreams - b.activeStreams || (b.lastHeartbeatAt ?? "").localeCompare(a.lastHeartbeatAt ?? "") || a.id.localeCompare(b.id);
}

/** Every region a stream may ask for: the configured ones and those registered nodes report. */
export function knownRegions(configured: Record<string, string>, nodes: RegisteredNode[]): string[] {
  return [...new Set([...Object.keys(configured), ...nodes.filter((n) => n.lastHeartbeatAt !== null).map((n) => n.region)])].sort();
}

/** Picks the ingest endpoint (see the file comment for the order). Pure. */
export function chooseIngest(input: IngestSelectionInput): IngestChoice {
  const healthy = input.nodes.filter((n) => isHealthy(n, input.now, input.healthyMs)).sort(byLoad);
  const inRegion = (region: string) => healthy.find((n) => n.region === region);
  const pick = (node: RegisteredNode, reason: IngestChoiceReason): IngestChoice => ({
    region: node.region,
    ingestServer: node.rtmpUrl.replace(/\/+$/, ""),
    nodeId: node.id,
    reason,
  });

  if (input.requested !== null) {
    const node = inRegion(input.requested);
    if (node) return pick(node, "requested");
  }
  const table = input.regionTable ?? derivedRegionTable(knownRegions(input.configured, input.nodes));
  for (const region of nearestRegions(input.caller, table)) {
    const node = inRegion(region);
    if (node) return pick(node, "nearest");
  }
  const anywhere = healthy[0];
  if (anywhere) return pick(anywhere, "least-loaded");

  const region = input.requested ?? input.defaultRegion;
  const configuredUrl = input.configured[region];
  if (configuredUrl) return { region, ingestServer: configuredUrl, nodeId: null, reason: "configured-default" };
  // A region only nodes report, none of them healthy now: the URL its freshest node advertised.
  const lastKnown = input.nodes
    .filter((n) => n.region === region && n.rtmpUrl)
    .sort((a, b) => (b.lastHeartbeatAt ?? "").localeCompare(a.lastHeartbeatAt ?? ""))[0];
  if (lastKnown) return { region, ingestServer: lastKnown.rtmpUrl.replace(/\/+$/, ""), nodeId: null, reason: "configured-default" };
  const fallback = input.configured[input.defaultRegion] ?? "rtmp://127.0.0.1:1935/live";
  return { region: input.defaultRegion, ingestServer: fallback, nodeId: null, reason: "configured-default" };
}

/** The part of the edge's configuration (EdgeConfig) the choice reads. */
export interface SelectionConfig {
  regions: Record<string, string>;
  defaultRegion: string;
  regionByContinent: RegionTable | null;
  nodeHealthySeconds: number;
}

/** Every node that ever heartbeated (the registry is small: one row per ingest machine). */
export async function registeredNodes(db: AnyD1Database): Promise<RegisteredNode[]> {
  return drizzle(db)
    .select({
      id: ingestNodes.id,
      region: ingestNodes.region,
      rtmpUrl: ingestNodes.rtmpUrl,
      load: ingestNodes.load,
      activeStreams: ingestNodes.activeStreams,
      lastHeartbeatAt: ingestNodes.lastHeartbeatAt,
    })
    .from(ingestNodes)
    .where(isNotNull(ingestNodes.lastHeartbeatAt));
}

/** The caller's location from `request.cf` (absent under tests and some local setups). */
export function callerLocation(request: Request): CallerLocation {
  const cf = (request as Request & { cf?: { country?: unknown; continent?: unknown } }).cf;
  return {
    country: typeof cf?.country === "string" ? cf.country : null,
    continent: typeof cf?.continent === "string" ? cf.continent : null,
  };
}

/**
 * Reads the registry and chooses an endpoint for a stream. An unknown `requested` region is a 400 listing the known
 * ones when `strict` (create, update); otherwise it is ignored (rotating the key of a stream whose region was retired).
 */
export async function selectIngest(
  db: AnyD1Database,
  config: SelectionConfig,
  request: Request,
  requested: string | null,
  options: { strict: boolean } = { strict: true },
): Promise<IngestChoice> {
  const nodes = await registeredNodes(db);
  const known = knownRegions(config.regions, nodes);
  let wanted = requested;
  if (wanted !== null && !known.includes(wanted)) {
    if (options.strict) {
      throw new AppError(400, "invalid_field", `region: unknown region "${wanted.slice(0, 32)}"; known regions: ${known.join(", ")}`);
    }
    wanted = null;
  }
  return chooseIngest({
    requested: wanted,
    configured: config.regions,
    defaultRegion: config.defaultRegion,
    nodes,
    caller: callerLocation(request),
    regionTable: config.regionByContinent,
    now: Date.now(),
    healthyMs: config.nodeHealthySeconds * 1000,
  });
}
