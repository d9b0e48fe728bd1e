// The ingest API of the transcoding pool's workers (/ingest/v1/worker/...): read a publish's source rendition, upload
// the rungs the pool makes from it. Authority is a worker grant (auth/worker-grant.ts), never a node credential: it
// names the stream, the epoch and the renditions, and the epoch must still hold the stream's lease (else 409, as for
// a fenced node). What a worker uploads is listed as if the lease holder had sent it.
import { type Context, Hono } from "hono";
import { InitMetaSchema, MEDIA_META_HEADER, type PublishRequest, SegmentMetaSchema } from "../../../protocol/ingest.ts";
import { WORKER_GRANT_HEADER } from "../../../protocol/ingest-paths.ts";
import { isRenditionName, isStreamId } from "../../../protocol/names.ts";
import type { AppEnv } from "../app-env.ts";
import { signWorkerGrant, verifyWorkerGrant, type WorkerGrant } from "../auth/worker-grant.ts";
import { getConfig } from "../config.ts";
import { AppError } from "../errors.ts";
import { limitBody } from "../http/json-body.ts";
import { readMediaMeta, readUploadBody } from "../http/media-upload.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";
import type { IngestResult } from "../live/ingest-result.ts";
import { liveStream } from "../live/objects/live-stream-stub.ts";
import { type MediaAddress, mediaFile } from "../storage/media.ts";
import { mediaStore } from "../storage/media-bucket.ts";

/** The source rendition's name; a pool never uploads it. */
const SOURCE = "source";

type WorkerEnv = { Bindings: AppEnv["Bindings"]; Variables: AppEnv["Variables"] & { grant: WorkerGrant } };
type WorkerContext = Context<WorkerEnv>;

function grantSecret(env: Env): string | undefined {
  return (env as Env & { WORKER_GRANT_SECRET?: string }).WORKER_GRANT_SECRET || undefined;
}

/**
 * The pool renditions a publish may be granted: those the node named, but not `source`, and only for a stream the pool
 * can serve (not interactive: LL-HLS parts stay node-local; not encrypted: a worker has no keys), with the secret set.
 */
export function grantablePool(env: Env, request: PublishRequest, stream: { latencyMode: string; encrypted: boolean }): string[] | undefined {
  const wanted = (request.pool_renditions ?? []).filter((name) => name !== SOURCE);
  if (wanted.length === 0 || !grantSecret(env) || stream.latencyMode === "interactive" || stream.encrypted) return undefined;
  return [...new Set(wanted)];
}

/**
 * A grant for `renditions` of `streamId` at `epoch` for WORKER_GRANT_LIFETIME_S, for the publish answer and the
 * heartbeats that renew it (undefined once WORKER_GRANT_SECRET was removed: the old grant then lapses).
 */
export async function issueWorkerGrant(env: Env, streamId: string, epoch: number, renditions: string[]): Promise<string | undefined> {
  const secret = grantSecret(env);
  if (!secret) return undefined;
  const exp = Math.floor(Date.now() / 1000) + getConfig(env).workerGrantLifetimeSeconds;
  return signWorkerGrant(secret, { streamId, epoch, renditions, exp });
}

function unwrap(result: IngestResult): void {
  if (!result.ok) throw new AppError(result.status, result.code, result.detail);
}

/** The node holding the grant's epoch (409 once it was fenced). */
async function holder(c: WorkerContext): Promise<string> {
  const grant = c.get("grant");
  const answer = await liveStream(c.env, grant.streamId).epochHolder(grant.epoch);
  if (!answer.ok) throw new AppError(answer.status, answer.code, answer.detail);
  return answer.nodeId;
}

/** The rendition from the path: one of the grant's (`write`), or one it reads from (any other). */
function rendition(c: WorkerContext, write: boolean): string {
  const name = c.req.param("rendition") ?? "";
  if (!isRenditionName(name)) throw new AppError(400, "invalid_field", "rendition: must match [a-z0-9][a-z0-9_-]{0,31}");
  const granted = c.get("grant").renditions.includes(name);
  if (write && !granted) throw new AppError(403, "forbidden", `This grant does not cover rendition "${name}".`);
  if (!write && granted) throw new AppError(403, "forbidden", "A grant reads only the renditions it does not make.");
  return name;
}

function sameEpoch(c: WorkerContext, epoch: number): void {
  if (epoch !== c.get("grant").epoch) throw new AppError(403, "forbidden", "This grant is for another epoch.");
}

async function readObject(c: WorkerContext, address: MediaAddress): Promise<Response> {
  const object = await mediaStore(c.env).openMedia(address);
  if (!object) throw new AppError(404, "not_found", "Not uploaded (yet).");
  return new Response(object.body, { headers: { "content-type": "video/mp4", "content-length": String(object.size) } });
}

/** Routes under /ingest/v1/worker. */
export const workerIngestRoutes = new Hono<WorkerEnv>();

workerIngestRoutes.use("/streams/:id/*", async (c, next) => {
  const check = await verifyWorkerGrant(grantSecret(c.env), c.req.header(WORKER_GRANT_HEADER));
  if (!check.ok) {
    const detail = check.reason === "missing" ? `Send the worker grant in ${WORKER_GRANT_HEADER}.` : `The worker grant is ${check.reason}.`;
    throw new AppError(401, "unauthorized", detail);
  }
  const streamId = c.req.param("id") ?? "";
  if (!isStreamId(streamId)) throw new AppError(400, "invalid_field", "stream id: must be a lowercase UUID");
  if (check.grant.streamId !== streamId) throw new AppError(403, "forbidden", "This grant is for another stream.");
  c.set("grant", check.grant);
  await next();
});
workerIngestRoutes.use(
  "/streams/:id/renditions/*",
  limitBody(
    (env) => getConfig(env).maxMediaBytes,
    (max) => `Media objects are limited to ${max} bytes.`,
  ),
);

workerIngestRoutes.get("/streams/:id/renditions/:rendition/init/:epoch", async (c) => {
  const name = rendition(c, false);
  sameEpoch(c, Number(c.req.param("epoch")));
  await holder(c);
  return readObject(c, { streamId: c.get("grant").streamId, rendition: name, epoch: c.get("grant").epoch, file: mediaFile.init() });
});

workerIngestRoutes.get("/streams/:id/renditions/:rendition/segments/:msn", async (c) => {
  const name = rendition(c, false);
  const msn = Number(c.req.param("msn"));
  if (!Number.isInteger(msn) || msn < 0) throw new AppError(400, "invalid_field", "msn: must be a non-negative integer");
  await holder(c);
  return readObject(c, { streamId: c.get("grant").streamId, rendition: name, epoch: c.get("grant").epoch, file: mediaFile.segment(msn) });
});

workerIngestRoutes.put("/streams/:id/renditions/:rendition/init", async (c) => {
  const name = rendition(c, true);
  const info = readMediaMeta(c.req, InitMetaSchema);
  sameEpoch(c, info.epoch);
  const bytes = await readUploadBody(c.req);
  const nodeId = await holder(c);
  const streamId = c.get("grant").streamId;
  await mediaStore(c.env).putMedia({ streamId, rendition: name, epoch: info.epoch, file: mediaFile.init() }, bytes);
  unwrap(await liveStream(c.env, streamId).commitInit(nodeId, name, info, { byPool: true }));
  return c.body(null, 204);
});

workerIngestRoutes.put("/streams/:id/renditions/:rendition/segments/:msn", async (c) => {
  const name = rendition(c, true);
  const info = readMediaMeta(c.req, SegmentMetaSchema);
  sameEpoch(c, info.epoch);
  if (String(info.msn) !== c.req.param("msn")) throw new AppError(400, "invalid_field", `${MEDIA_META_HEADER}: msn must match the path`);
  if (info.from_parts) throw new AppError(400, "bad_request", "A worker uploads whole segments.");
  const bytes = await readUploadBody(c.req);
  const nodeId = await holder(c);
  const streamId = c.get("grant").streamId;
  await mediaStore(c.env).putMedia({ streamId, rendition: name, epoch: info.epoch, file: mediaFile.segment(info.msn) }, bytes);
  unwrap(await liveStream(c.env, streamId).commitSegment(nodeId, name, info, bytes.byteLength, { byPool: true }));
  return c.body(null, 204);
});

workerIngestRoutes.all("/streams/:id/renditions/:rendition/init/:epoch", methodNotAllowed("GET"));
workerIngestRoutes.all("/streams/:id/renditions/:rendition/init", methodNotAllowed("PUT"));
workerIngestRoutes.all("/streams/:id/renditions/:rendition/segments/:msn", methodNotAllowed("GET, PUT"));
