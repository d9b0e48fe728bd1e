// Which hosts a webhook may not reach: loopback, private, link-local, CGNAT, multicast and reserved addresses in any
// spelling, and names that only resolve inside a network. Pure (no Worker API), so unit tests run it in Node.

/** IPv4 ranges no webhook may target, as [first octets, prefix length]. */
const BLOCKED_V4: readonly [readonly number[], number][] = [
  [[0], 8], // "this network"
  [[10], 8], // private (RFC 1918)
  [[100, 64], 10], // carrier-grade NAT (RFC 6598)
  [[127], 8], // loopback
  [[169, 254], 16], // link-local (cloud metadata services live here)
  [[172, 16], 12], // private
  [[192, 0, 0], 24], // IETF protocol assignments
  [[192, 0, 2], 24], // documentation
  [[192, 88, 99], 24], // 6to4 relay anycast
  [[192, 168], 16], // private
  [[198, 18], 15], // benchmarking
  [[198, 51, 100], 24], // documentation
  [[203, 0, 113], 24], // documentation
  [[224], 4], // multicast
  [[240], 4], // reserved, and 255.255.255.255
];

/** Name suffixes that only resolve inside a network (RFC 6761, RFC 6762, RFC 8375, ICANN's `.internal`). */
const INTERNAL_SUFFIXES = ["localhost", "local", "internal", "localdomain", "home.arpa", "lan", "intranet", "corp", "home"];

function v4ToNumber(octets: readonly number[]): number {
  return ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
}

function inV4Range(address: number, first: readonly number[], prefix: number): boolean {
  const base = v4ToNumber([...first, 0, 0, 0, 0].slice(0, 4));
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return (address & mask) >>> 0 === (base & mask) >>> 0;
}

/** True when the IPv4 address (as a 32-bit number) is in a blocked range. */
export function isBlockedIPv4(address: number): boolean {
  return BLOCKED_V4.some(([first, prefix]) => inV4Range(address, first, prefix));
}

/**
 * Parses an IPv4 host the way the WHATWG URL parser (and inet_aton) does: 1 to 4 dot-separated parts, each decimal,
 * `0x` hex or `0`-led octal, the last part filling the remaining bytes (`127.1`, `2130706433`, `0x7f.0.0.1`,
 * `0177.0.0.1`). Null when it is not an IPv4 spelling. Done here too because a check must not depend on the URL
 * parser having normalised the host.
 */
export function parseIPv4(host: string): number | null {
  const parts = host.replace(/\.$/, "").split(".");
  if (parts.length === 0 || parts.length > 4) return null;
  const values: number[] = [];
  for (const part of parts) {
    let value: number;
    if (/^0x[0-9a-f]*$/i.test(part)) value = part.length === 2 ? 0 : Number.parseInt(part.slice(2), 16);
    else if (/^0[0-7]+$/.test(part)) value = Number.parseInt(part.slice(1), 8);
    else if (/^(0|[1-9][0-9]*)$/.test(part)) value = Number(part);
    else return null;
    if (!Number.isSafeInteger(value)) return null;
    values.push(value);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255) || last >= 256 ** (4 - values.length)) return null;
  return values.reduce((sum, v, i) => sum + v * 256 ** (3 - i), last);
}

/** Parses an IPv6 address (no brackets, no zone) into its 8 groups, or null. Accepts `::` and a dotted IPv4 tail. */
export function parseIPv6(host: string): number[] | null {
  let text = host.toLowerCase();
  const tail: number[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const octets = dotted[2]!.split(".").map(Number);
    if (octets.some((o) => o > 255)) return null;
    tail.push((octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!);
    text = dotted[1]!.endsWith("::") ? dotted[1]! : dotted[1]!.slice(0, -1);
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string) => (half === "" ? [] : half.split(":"));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (![...head, ...rest].every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  const explicit = head.length + rest.length + tail.length;
  if (halves.length === 1 ? explicit !== 8 : explicit > 7) return null;
  const zeros = new Array<number>(8 - explicit).fill(0);
  return [...head.map((g) => Number.parseInt(g, 16)), ...(halves.length === 2 ? zeros : []), ...rest.map((g) => Number.parseInt(g, 16)), ...tail];
}

/** True when the IPv6 address (8 groups) is loopback, unspecified, private, link-local, multicast or reserved, or
 *  embeds a blocked IPv4 address (mapped, compatible, NAT64, 6to4). */
export function isBlockedIPv6(g: readonly number[]): boolean {
  const embedded = (hi: number, lo: number) => isBlockedIPv4(((hi << 16) | lo) >>> 0);
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(6)) return true; // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
  if (zeroUpTo(5) && g[5] === 0xffff) return embedded(g[6]!, g[7]!); // IPv4-mapped ::ffff:a.b.c.d
  if (zeroUpTo(4) && g[4] === 0xffff && g[5] === 0) return embedded(g[6]!, g[7]!); // IPv4-translated ::ffff:0:a.b.c.d
  if (g[0] === 0x64 && g[1] === 0xff9b) return true; // NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48)
  if (g[0] === 0x2002) return true; // 6to4: reaches whatever IPv4 address it embeds
  if (g[0] === 0x2001 && g[1]! < 0x200) return true; // Teredo, ORCHID and other IETF assignments (2001::/23)
  if (g[0] === 0x2001 && g[1] === 0x0db8) return true; // documentation
  if (g[0] === 0x0100 && zeroUpTo(4)) return true; // discard-only 100::/64
  const first = g[0]!;
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xffc0) === 0xfec0 || (first & 0xff00) === 0xff00;
}

/**
 * Why `hostname` (as `URL.hostname` gives it: IPv6 in brackets) is not a public host, or null when it is. Names are
 * judged by their spelling only: a public name that resolves to a private address is not caught here.
 */
export function privateHostProblem(hostname: string): string | null {
  const host = hostname.toLowerCase().replace(/\.+$/, "");
  if (host === "") return "has no host";
  if (host.startsWith("[") && host.endsWith("]")) {
    const groups = parseIPv6(host.slice(1, -1));
    if (!groups) return "has an invalid IPv6 address";
    return isBlockedIPv6(groups) ? "points to a loopback, private, link-local or reserved IPv6 address" : null;
  }
  if (host.includes(":")) {
    const groups = parseIPv6(host);
    if (!groups) return "has an invalid host";
    return isBlockedIPv6(groups) ? "points to a loopback, private, link-local or reserved IPv6 address" : null;
  }
  const v4 = parseIPv4(host);
  if (v4 !== null) return isBlockedIPv4(v4) ? "points to a loopback, private, link-local, CGNAT or reserved IPv4 address" : null;
  // A name whose last label is numeric is not a DNS name the public can register; WHATWG refuses it too.
  if (/(^|\.)(0x[0-9a-f]*|\d+)$/i.test(host)) return "has a host that is neither a public name nor an IP address";
  if (!host.includes(".")) return "has a single-label host name (only resolvable inside a network)";
  if (INTERNAL_SUFFIXES.some((suffix) => host === suffix || host.endsWith(`.${suffix}`))) {
    return "has an internal host name (localhost, .local, .internal and the like)";
  }
  return null;
}
