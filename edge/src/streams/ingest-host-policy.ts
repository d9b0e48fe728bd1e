// Which RTMP URL a node may advertise to streamers: never one it merely claims. Pure, so unit tests run it under Node.
//
// A node's heartbeat names its public RTMP URL, and that URL is handed to streamers together with their stream keys.
// It is accepted only when its host is one the operator configured for the node's region: the host of the region's
// INGEST_REGIONS URL, or one matching INGEST_HOST_PATTERN. An admin may also fix a node's URL when minting its
// credential; that URL needs no pattern, since the admin wrote it.

/** Compiled INGEST_HOST_PATTERN entries: `*` is one run of [a-z0-9-] inside a label, `{region}` the node's region. */
export type HostPatterns = string[];

/** Splits INGEST_HOST_PATTERN (comma-separated host patterns) and checks each; throws naming a bad entry. */
export function parseHostPatterns(raw: string | undefined): HostPatterns {
  const patterns = (raw ?? "")
    .split(",")
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p !== "");
  for (const pattern of patterns) {
    if (!/^[a-z0-9*{}.-]{1,253}$/.test(pattern) || pattern.replace(/\{region\}/g, "").includes("{") || pattern.replace(/\{region\}/g, "").includes("}")) {
      throw new Error(`INGEST_HOST_PATTERN has an invalid entry "${pattern.slice(0, 60)}" (letters, digits, '-', '.', '*' and {region})`);
    }
  }
  return patterns;
}

/** The lowercase host name of an rtmp:// or rtmps:// URL, or null when it is not one. */
export function rtmpHost(url: string): string | null {
  if (!/^rtmps?:\/\/\S+$/i.test(url)) return null;
  try {
    // URL parses rtmp:// as a special-less scheme: its hostname is what sits between // and the port or path.
    const host = new URL(url).hostname.toLowerCase();
    return host === "" ? null : host.replace(/^\[(.*)\]$/, "$1");
  } catch {
    return null;
  }
}

function hostMatches(host: string, pattern: string, region: string): boolean {
  const escaped = pattern
    .split("{region}")
    .map((part) => part.replace(/[.+?^$()|[\]\\-]/g, "\\$&").replace(/\*/g, "[a-z0-9-]+"))
    .join(region.replace(/[.+?^$()|[\]\\-]/g, "\\$&"));
  return new RegExp(`^${escaped}$`).test(host);
}

/** What decides whether an advertised URL is accepted. */
export interface HostPolicyInput {
  /** The URL the node's heartbeat names. */
  advertised: string;
  /** The region the node's credential was minted for. */
  region: string;
  /** The URL the registry holds for the node now ("" when none): the admin's, or one accepted before. */
  stored: string;
  /** INGEST_REGIONS: region -> configured RTMP URL. */
  configured: Record<string, string>;
  patterns: HostPatterns;
}

/** True when a node of `region` may advertise `advertised` (see the file comment). */
export function advertisedUrlAllowed(input: HostPolicyInput): boolean {
  const host = rtmpHost(input.advertised);
  if (host === null) return false;
  if (input.stored !== "" && input.advertised.replace(/\/+$/, "") === input.stored.replace(/\/+$/, "")) return true;
  const configuredUrl = input.configured[input.region];
  if (configuredUrl !== undefined && rtmpHost(configuredUrl) === host) return true;
  return input.patterns.some((pattern) => hostMatches(host, pattern, input.region));
}

/**
 * A node's URL for another protocol (SRT: `srt://host:port`) is accepted only on the host of the RTMP URL the edge
 * offers for it, which passed the checks above: it gets the same host restrictions and needs no setting of its own.
 * Returns the URL without a trailing slash, or null when it is refused (another host, no port, a query, no RTMP URL).
 */
export function srtUrlAllowed(advertised: string, offeredRtmpUrl: string): string | null {
  const rtmp = rtmpHost(offeredRtmpUrl);
  if (rtmp === null || !/^srt:\/\/[^\s/?#]+\/?$/i.test(advertised)) return null;
  try {
    const url = new URL(advertised);
    const host = url.hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
    return host === rtmp && url.port !== "" ? advertised.replace(/\/+$/, "") : null;
  } catch {
    return null;
  }
}

/**
 * A node's WHIP base URL (`https://host[:port]`, plain http only beside a plain rtmp:// URL, as on a laptop): accepted
 * only on the host of the RTMP URL the edge offers for it, like its SRT URL. Returns it without a trailing slash, or
 * null when refused (another host, a path, a query, no RTMP URL).
 */
export function whipUrlAllowed(advertised: string, offeredRtmpUrl: string): string | null {
  const rtmp = rtmpHost(offeredRtmpUrl);
  if (rtmp === null || !/^https?:\/\/[^\s/?#]+\/?$/i.test(advertised)) return null;
  try {
    const url = new URL(advertised);
    const host = url.hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
    return host === rtmp ? advertised.replace(/\/+$/, "") : null;
  } catch {
    return null;
  }
}
