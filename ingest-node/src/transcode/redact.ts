// Keeps stream keys out of logs: the input URL of an ingest pull ends in the publisher's secret key.

/** What replaces a secret in logged text. */
export const REDACTED = "<redacted>";

const RTMP_URL = /rtmps?:\/\/[^\s'"]+/gi;

/** An rtmp URL with its last path segment (the stream key) and query replaced: `rtmp://h/live/<redacted>`. */
export function redactUrl(url: string): string {
  const match = /^(rtmps?:\/\/[^/?#]*\/(?:[^?#]*\/)?)([^/?#]*)(.*)$/i.exec(url);
  if (!match) return url;
  const [, prefix, key, rest] = match;
  return key || rest ? `${prefix}${REDACTED}` : url;
}

/** The stream keys of the rtmp URLs in `args` (raw and percent-decoded), longest first. */
export function secretsOf(args: readonly string[]): string[] {
  const secrets = new Set<string>();
  for (const arg of args) {
    for (const url of arg.match(RTMP_URL) ?? []) {
      const key = /^rtmps?:\/\/[^/?#]*\/(?:[^?#]*\/)?([^/?#]+)/i.exec(url)?.[1];
      // Very short keys would redact common words; the URL rewrite below still covers them inside URLs.
      if (!key || key.length < 4) continue;
      secrets.add(key);
      try {
        secrets.add(decodeURIComponent(key));
      } catch {
        // Not valid percent-encoding: the raw key is enough.
      }
    }
  }
  return [...secrets].sort((a, b) => b.length - a.length);
}

/** Makes a redactor for text that may quote `args`: rewrites rtmp URLs and removes every known key. */
export function redactor(args: readonly string[]): (text: string) => string {
  const secrets = secretsOf(args);
  return (text) => {
    let out = text.replace(RTMP_URL, (match) => {
      // FFmpeg writes "<url>: <error>"; keep trailing punctuation out of the URL.
      const url = match.replace(/[:,.;)\]]+$/, "");
      return redactUrl(url) + match.slice(url.length);
    });
    for (const secret of secrets) out = out.split(secret).join(REDACTED);
    return out;
  };
}
