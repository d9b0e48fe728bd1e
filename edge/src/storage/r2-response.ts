// Turning stored objects into HTTP responses: content type, length, ETag, Range (206) and HEAD.
import { AppError } from "../errors.ts";
import type { ByteRange, ObjectBucket, StoredBody, StoredObject } from "./object-bucket.ts";

/** Headers every immutable media response carries. */
export const IMMUTABLE = "public, max-age=31536000, immutable";

function baseHeaders(object: StoredObject, contentType: string, cacheControl: string): Headers {
  const headers = new Headers();
  object.writeHttpMetadata(headers);
  headers.set("content-type", contentType);
  headers.set("cache-control", cacheControl);
  headers.set("etag", object.httpEtag);
  headers.set("accept-ranges", "bytes");
  headers.set("last-modified", object.uploaded.toUTCString());
  return headers;
}

/** Serves `key` from the bucket: GET with optional Range, or HEAD; 404 problem when absent. */
export async function serveStoredObject(
  bucket: ObjectBucket,
  key: string,
  request: Request,
  options: { contentType: string; cacheControl: string; what: string },
): Promise<Response> {
  if (request.method === "HEAD") {
    const head = await bucket.head(key);
    if (!head) throw new AppError(404, "not_found", `${options.what} was not found`);
    const headers = baseHeaders(head, options.contentType, options.cacheControl);
    headers.set("content-length", String(head.size));
    return new Response(null, { status: 200, headers });
  }
  let object: StoredBody | StoredObject | null;
  try {
    object = await bucket.get(key, { range: request.headers, onlyIf: request.headers });
  } catch (err) {
    if (request.headers.has("range")) throw new AppError(416, "range_not_satisfiable", `The range "${request.headers.get("range")}" cannot be served.`);
    throw err;
  }
  if (!object) throw new AppError(404, "not_found", `${options.what} was not found`);
  const headers = baseHeaders(object, options.contentType, options.cacheControl);
  if (!("body" in object)) {
    // A conditional GET whose precondition failed (e.g. If-None-Match matched): R2 returns no body.
    return new Response(null, { status: 304, headers });
  }
  const range = object.range as (ByteRange & { offset?: number; length?: number; suffix?: number }) | undefined;
  if (range && request.headers.has("range")) {
    const offset = range.suffix !== undefined ? object.size - range.suffix : (range.offset ?? 0);
    const length = range.suffix ?? range.length ?? object.size - offset;
    headers.set("content-range", `bytes ${offset}-${offset + length - 1}/${object.size}`);
    headers.set("content-length", String(length));
    return new Response(object.body, { status: 206, headers });
  }
  headers.set("content-length", String(object.size));
  return new Response(object.body, { status: 200, headers });
}
