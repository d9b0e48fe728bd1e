// A signed stream's token, added to a playlist's URIs at the edge, per answer: the stream's object renders one
// token-free text that every viewer's request shares (one held request per answer, however many tokens), and each
// viewer's answer gets its own, already checked, token in one pass over that text (bench/uri-query.bench.ts: a few µs).

// URI lines (any line not starting with `#`) and quoted URI attributes (EXT-X-MAP, EXT-X-PART, EXT-X-PRELOAD-HINT,
// EXT-X-RENDITION-REPORT, EXT-X-KEY, EXT-X-MEDIA): every URI an HLS playlist can name (RFC 8216bis §4.1, §4.4).
const URIS = /^([^#\n][^\n]*)$|URI="([^"]*)"/gm;

/** `body` with `query` (e.g. `token=...`, no leading `?`) added to every URI it names; unchanged when `query` is null. */
export function withUriQuery(body: string, query: string | null): string {
  if (query === null || query === "") return body;
  // A quoted-string cannot hold '"', CR or LF (§4.2); whitespace would break URI lines.
  if (/["\s]/.test(query)) throw new RangeError("a URI query must not contain quotes or whitespace");
  return body.replace(URIS, (_match, line: string | undefined, attribute: string | undefined) =>
    line !== undefined ? appendQuery(line, query) : `URI="${appendQuery(attribute ?? "", query)}"`,
  );
}

function appendQuery(uri: string, query: string): string {
  return `${uri}${uri.includes("?") ? "&" : "?"}${query}`;
}
