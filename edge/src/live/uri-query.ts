// A signed stream's token, added to a playlist's URIs at the edge, per answer: the stream's object renders one
// token-free text that every viewer's request shares (one held request per answer, however many tokens), and each
// viewer's answer gets its own, already checked, token.
//
// The text is split once at the end of each URI it names (its "slots"); each answer is then one join of those pieces
// with the token, a copy of the text with no scan. A DVR playlist lists every segment of its window (334 KiB at 4 h),
// and every signed viewer's reload of it within a window change shares the split; a delta update (`_HLS_skip`) lists
// only the tail, so its split and join stay small however long the window (bench/uri-query.ts).

// URI lines (any line not starting with `#`) and quoted URI attributes (EXT-X-MAP, EXT-X-PART, EXT-X-PRELOAD-HINT,
// EXT-X-RENDITION-REPORT, EXT-X-KEY, EXT-X-MEDIA): every URI an HLS playlist can name (RFC 8216bis §4.1, §4.4).
const URIS = /^([^#\n][^\n]*)$|URI="([^"]*)"/gm;

/** Split texts kept per isolate: the latest playlists of a few renditions (full and delta); the oldest goes first. */
export const MAX_SPLIT_TEXTS = 16;

/** Characters of the texts kept at most (with their pieces about twice that in memory): four 4 h DVR playlists. */
export const MAX_SPLIT_CHARS = 1_500_000;

/** Texts shorter than this are split per answer instead of kept: a master playlist or a delta update costs ~1 µs. */
export const MIN_KEPT_TEXT_LENGTH = 4096;

// A Map keyed by the text: the answers that share a call (coalesced, or the isolate's latest playlist) share the string
// itself, whose hash V8 keeps, so a hit is a pointer comparison; an equal text from another call costs one hash and
// one comparison (memcmp), still far below a scan.
const splits = new Map<string, string[]>();
let splitChars = 0;

/** `body` with `query` (e.g. `token=...`, no leading `?`) added to every URI it names; unchanged when `query` is null. */
export function withUriQuery(body: string, query: string | null): string {
  if (query === null || query === "") return body;
  // A quoted-string cannot hold '"', CR or LF (§4.2); whitespace would break URI lines.
  if (/["\s]/.test(query)) throw new RangeError("a URI query must not contain quotes or whitespace");
  return uriSlots(body).join(query);
}

/**
 * `body` cut right after each URI's `?` or `&` (the separator its query needs: `&` when it already has one), so that
 * joining the pieces with a query adds it to every URI. Kept for long texts (bounded by MAX_SPLIT_TEXTS and MAX_SPLIT_CHARS).
 */
export function uriSlots(body: string): string[] {
  if (body.length < MIN_KEPT_TEXT_LENGTH) return splitAtUris(body);
  let pieces = splits.get(body);
  if (pieces === undefined) {
    pieces = splitAtUris(body);
    if (body.length > MAX_SPLIT_CHARS) return pieces;
    // The oldest go first (a Map iterates in insertion order) until both bounds hold with this text.
    while (splits.size >= MAX_SPLIT_TEXTS || splitChars + body.length > MAX_SPLIT_CHARS) {
      const oldest = splits.keys().next().value as string;
      splits.delete(oldest);
      splitChars -= oldest.length;
    }
    splits.set(body, pieces);
    splitChars += body.length;
  }
  return pieces;
}

/** How many split texts are kept and their characters (tests read it to see the bounds hold). */
export function keptSplits(): { texts: number; chars: number } {
  return { texts: splits.size, chars: splitChars };
}

/** `body` cut right after each URI's query separator (what uriSlots keeps), with no cache. */
export function splitAtUris(body: string): string[] {
  const pieces: string[] = [];
  let from = 0;
  for (const match of body.matchAll(URIS)) {
    const line = match[1];
    const uri = line ?? match[2] ?? "";
    // A URI line ends with the match; a quoted one just before its closing quote.
    const end = match.index + match[0].length - (line === undefined ? 1 : 0);
    pieces.push(`${body.slice(from, end)}${uri.includes("?") ? "&" : "?"}`);
    from = end;
  }
  pieces.push(body.slice(from));
  return pieces;
}
