// The stream a control route names in its path, and the path parameter as the OpenAPI document describes it.
import { z } from "@hono/zod-openapi";
import { isStreamId } from "../../../protocol/names.ts";
import type { AppContext } from "../app-env.ts";
import { database } from "../db/client.ts";
import { notFound } from "../errors.ts";
import { getStream, type StreamRow } from "../streams/stream-repository.ts";

/** Path parameters `{id}` of a resource named by a UUID (anything else is answered 404, as an unknown id is). */
export const IdParams = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, format: "uuid", example: "3f0c1c2e-8a4b-4c1d-9e2f-1a2b3c4d5e6f" }),
});

/** The stream named by the path's `id`, if the caller may see it (404 otherwise: someone else's looks unknown). */
export async function streamFromPath(c: AppContext): Promise<StreamRow> {
  const id = c.req.param("id") ?? "";
  if (!isStreamId(id)) throw notFound(`Stream "${id.slice(0, 64)}"`);
  return getStream(database(c.env), c.get("principal"), id);
}
