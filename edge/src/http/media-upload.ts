// The parts of a media upload (node or pool worker) that every upload route reads the same way: the JSON metadata
// header and the non-empty body. Taking the request alone lets routes with different context types share them.
import type { z } from "zod";
import { MEDIA_META_HEADER } from "../../../protocol/ingest.ts";
import { AppError } from "../errors.ts";
import { describeIssues } from "./json-body.ts";

/** What these helpers read from a request. */
interface UploadRequest {
  header(name: string): string | undefined;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** Parses the `x-media-meta` header with `schema`; 400 naming the field otherwise. */
export function readMediaMeta<S extends z.ZodType>(req: UploadRequest, schema: S): z.infer<S> {
  const raw = req.header(MEDIA_META_HEADER);
  if (!raw) throw new AppError(400, "invalid_field", `${MEDIA_META_HEADER}: header is required`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new AppError(400, "malformed_json", `${MEDIA_META_HEADER}: is not valid JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new AppError(400, "invalid_field", `${MEDIA_META_HEADER}: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

/** Reads the upload body; empty bodies are refused. */
export async function readUploadBody(req: UploadRequest): Promise<ArrayBuffer> {
  const body = await req.arrayBuffer();
  if (body.byteLength === 0) throw new AppError(400, "bad_request", "The upload body is empty.");
  return body;
}
