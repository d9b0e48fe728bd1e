// Caps on RTMP connections open at once: in total and per client IP address.

/** The caps. */
export interface ConnectionCaps {
  maxConnections: number;
  maxConnectionsPerIp: number;
}

/** Why a connection was not admitted. */
export type ConnectionRefusal = "max-connections" | "max-connections-per-ip";

/** Counts open connections; `admit` takes a slot or says which cap refused it. */
export class ConnectionLimits {
  private readonly caps: ConnectionCaps;
  private readonly perIp = new Map<string, number>();
  private total = 0;

  constructor(caps: ConnectionCaps) {
    this.caps = caps;
  }

  /** Connections open now. */
  get open(): number {
    return this.total;
  }

  /** Takes a slot for a connection from `ip`; the returned release (idempotent) gives it back. */
  admit(ip: string): { ok: true; release: () => void } | { ok: false; refusal: ConnectionRefusal } {
    const key = normalizeIp(ip);
    const fromIp = this.perIp.get(key) ?? 0;
    if (this.total >= this.caps.maxConnections) return { ok: false, refusal: "max-connections" };
    if (fromIp >= this.caps.maxConnectionsPerIp) return { ok: false, refusal: "max-connections-per-ip" };
    this.total++;
    this.perIp.set(key, fromIp + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const left = (this.perIp.get(key) ?? 1) - 1;
        if (left > 0) this.perIp.set(key, left);
        else this.perIp.delete(key);
      },
    };
  }
}

/** One key per client: an IPv4 address reached over an IPv6 socket (`::ffff:1.2.3.4`) counts as `1.2.3.4`. */
export function normalizeIp(ip: string): string {
  return ip.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, "$1");
}
