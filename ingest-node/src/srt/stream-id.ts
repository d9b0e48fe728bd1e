// The SRT streamid a caller sends: the stream key, plain or in SRT's access-control form (`#!::r=<key>,m=publish`).

/** What a streamid asks for: publish with a key, or why it cannot be served. */
export type StreamIdRequest = { ok: true; key: string } | { ok: false; problem: "empty" | "not-publish" | "malformed" };

/** libsrt's limit on a streamid (SRTO_STREAMID): 512 bytes. */
export const MAX_STREAM_ID_BYTES = 512;

/**
 * Reads the stream key from a streamid. Accepted: the bare key (`srt://host:9000?streamid=<key>`), the access-control
 * form `#!::r=<key>,m=publish` (keys in any order; `m` may be left out: publishing is the only thing a node serves),
 * and `live/<key>` as OBS users type it for RTMP. Anything asking to play (`m=request`) or both is refused.
 */
export function parseStreamId(raw: string | null | undefined): StreamIdRequest {
  if (!raw) return { ok: false, problem: "empty" };
  if (Buffer.byteLength(raw) > MAX_STREAM_ID_BYTES) return { ok: false, problem: "malformed" };
  if (raw.startsWith("#!::")) {
    const fields = new Map<string, string>();
    for (const pair of raw.slice(4).split(",")) {
      const eq = pair.indexOf("=");
      if (eq <= 0) return { ok: false, problem: "malformed" };
      const name = pair.slice(0, eq).trim();
      if (fields.has(name)) return { ok: false, problem: "malformed" };
      fields.set(name, pair.slice(eq + 1).trim());
    }
    const mode = fields.get("m");
    if (mode !== undefined && mode !== "publish") return { ok: false, problem: "not-publish" };
    return keyOf(fields.get("r"));
  }
  return keyOf(raw.startsWith("live/") ? raw.slice(5) : raw);
}

function keyOf(value: string | undefined): StreamIdRequest {
  if (!value) return { ok: false, problem: "empty" };
  // A key is printable ASCII without spaces (the edge mints base64url); anything else cannot be one.
  if (!/^[\x21-\x7e]+$/.test(value)) return { ok: false, problem: "malformed" };
  return { ok: true, key: value };
}
