// The dashboard's one door to the control API: openapi-fetch typed by the schema generated from the API's OpenAPI
// document (schema.d.ts, `npm run api:types`), so an API change that breaks the dashboard breaks its typecheck.
// Every call sends the bearer token; problem+json answers become ApiError.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.d.ts";

type Schemas = components["schemas"];
/** A stream as the API answers it (`stream_key` only in the create and rotate answers). */
export type Stream = Schemas["Stream"];
/** `POST /streams` body. */
export type StreamCreate = Schemas["StreamCreate"];
/** `GET /streams` filters. */
export type StreamQuery = NonNullable<paths["/streams"]["get"]["parameters"]["query"]>;
/** `GET /streams/:id/status`. */
export type StreamStatus = Schemas["StreamStatus"];
/** One sample of `GET /streams/:id/health`. */
export type HealthSample = Schemas["HealthSample"];
/** A recorded broadcast. */
export type Vod = Schemas["Vod"];
/** A highlight clip. */
export type Clip = Schemas["Clip"];
/** `POST /streams/:id/clips` body. */
export type ClipCreate = Schemas["ClipCreate"];
/** A webhook endpoint (`secret` only in the create answer). */
export type Webhook = Schemas["Webhook"];
/** An API error answer. */
export type Problem = Schemas["Problem"];

/** Webhook event types. */
export const WEBHOOK_EVENTS = ["stream.live", "stream.offline", "vod.ready", "clip.ready"] as const satisfies readonly Webhook["events"][number][];

/** An error answer of the API (application/problem+json), or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId: string | null;

  constructor(status: number, code: string, detail: string, requestId: string | null = null) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.requestId = requestId;
  }
}

/** The API calls of the dashboard, bound to one token. */
export type ApiClient = ReturnType<typeof apiClient>;

/**
 * A client that sends `token`; `onUnauthorized` hears every 401 (a revoked or expired token) before the call
 * rejects, so the page can go back to sign-in.
 */
export function apiClient(token: string, onUnauthorized: (error: ApiError) => void) {
  const client = createClient<paths>({ baseUrl: location.origin });
  client.use({
    onRequest({ request }) {
      request.headers.set("authorization", `Bearer ${token}`);
      return request;
    },
  });

  /** The answer's data, or the problem it carries thrown as ApiError. */
  async function answer<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
    let result: Awaited<typeof call>;
    try {
      result = await call;
    } catch (err) {
      throw new ApiError(0, "network", `The edge did not answer (${(err as Error).message}).`);
    }
    const { data, error, response } = result;
    if (response.ok) return data as T;
    const problem = (error ?? {}) as Partial<Problem>;
    const failure = new ApiError(
      response.status,
      problem.code ?? "error",
      problem.detail ?? `${response.status} ${response.statusText}`,
      problem.request_id ?? null,
    );
    if (response.status === 401) onUnauthorized(failure);
    throw failure;
  }
  const path = (id: string) => ({ params: { path: { id } } });

  return {
    listStreams: (query: StreamQuery = {}) => answer(client.GET("/streams", { params: { query } })),
    createStream: (body: StreamCreate) => answer(client.POST("/streams", { body })),
    getStream: (id: string) => answer(client.GET("/streams/{id}", path(id))),
    rotateKey: (id: string) => answer(client.POST("/streams/{id}/key", path(id))),
    start: (id: string) => answer(client.POST("/streams/{id}/start", path(id))),
    stop: (id: string) => answer(client.POST("/streams/{id}/stop", path(id))),
    status: (id: string) => answer(client.GET("/streams/{id}/status", path(id))),
    health: (id: string, since?: string) => answer(client.GET("/streams/{id}/health", { params: { path: { id }, query: since ? { since } : {} } })),
    playbackToken: (id: string) => answer(client.POST("/streams/{id}/playback-tokens", { ...path(id), body: {} })),
    listVods: (id: string) => answer(client.GET("/streams/{id}/vods", path(id))),
    deleteVod: (id: string) => answer(client.DELETE("/vods/{id}", path(id))),
    listClips: (id: string) => answer(client.GET("/streams/{id}/clips", path(id))),
    createClip: (id: string, body: ClipCreate) => answer(client.POST("/streams/{id}/clips", { ...path(id), body })),
    deleteClip: (id: string) => answer(client.DELETE("/clips/{id}", path(id))),
    listWebhooks: () => answer(client.GET("/webhooks")),
    createWebhook: (body: Schemas["WebhookCreate"]) => answer(client.POST("/webhooks", { body })),
    deleteWebhook: (id: string) => answer(client.DELETE("/webhooks/{id}", path(id))),
    regions: () => answer(client.GET("/regions")),
  };
}
