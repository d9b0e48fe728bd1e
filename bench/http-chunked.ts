// HTTP/1.1 chunked transfer coding, read back by the bench's raw socket clients.

/** The payload of a complete chunked body (extensions and trailers not expected: the edge sends none). */
export function dechunk(body: string): string {
  let out = "";
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf("\r\n", at);
    const size = Number.parseInt(body.slice(at, lineEnd), 16);
    if (!(size > 0)) return out;
    out += body.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}
