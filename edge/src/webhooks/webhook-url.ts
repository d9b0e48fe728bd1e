// The rule for webhook URLs, applied when an endpoint is registered and again before every delivery.
import { privateHostProblem } from "./private-address.ts";

/** Hosts plain http:// may reach when local webhooks are allowed (development and tests). */
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * Why `raw` cannot be a webhook URL, or null when it can. In production (`allowLocal` false): https:// only, to a
 * public host (no loopback, private, link-local, CGNAT, multicast or reserved address in any spelling, no internal or
 * single-label name). With ALLOW_LOCAL_WEBHOOKS=1: https:// anywhere, and http:// to 127.0.0.1, localhost or [::1].
 */
export function webhookUrlProblem(raw: string, allowLocal: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "is not an absolute URL";
  }
  if (url.username || url.password) return "must not contain credentials";
  if (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname)) {
    return allowLocal ? null : "http:// to a local host is allowed only when ALLOW_LOCAL_WEBHOOKS=1";
  }
  if (url.protocol !== "https:") return allowLocal ? "must be https:// (or http:// to 127.0.0.1/localhost)" : "must be an https:// URL";
  if (allowLocal) return null;
  const problem = privateHostProblem(url.hostname);
  return problem ? `${problem}; such hosts are allowed only when ALLOW_LOCAL_WEBHOOKS=1` : null;
}
