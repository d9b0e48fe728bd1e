// `GET /streams/:id/health?since=`: the stream's health over the last hour, one sample per ingest-node heartbeat
// (~2 s), kept by its Durable Object (live/health-history.ts). Mounted at /streams/:id/health behind a bearer token.
import { createRoute, z } from "@hono/zod-openapi";
import { getConfig } from "../config.ts";
import { AppError } from "../errors.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";
import { HEALTH_HISTORY_MS, sinceParameter } from "../live/health-history.ts";
import { liveStream } from "../live/objects/live-stream-stub.ts";
import { apiRouter } from "../openapi/api-router.ts";
import { problems } from "../openapi/problem.ts";
import { IdParams, streamFromPath } from "./stream-from-path.ts";

const seconds = (description: string) => z.number().nullable().openapi({ description });

/** One sample of `GET /streams/:id/health`. */
export const HealthSampleSchema = z
  .object({
    at: z.iso.datetime().openapi({ description: "When the edge received the node's heartbeat" }),
    input_kbps: z.number().openapi({ description: "What the publisher sends, kbit/s" }),
    fps: z.number().openapi({ description: "Frames per second the node's encoder reads" }),
    encoder_speed: z.number().openapi({ description: "The node's encoder speed: 1 is real time, less falls behind" }),
    last_segment_age_s: seconds("Seconds since the edge last listed media of the stream (null before any)"),
    upload_backlog: z.int().openapi({ description: "Objects waiting in the node's upload queue" }),
    viewers: z.int(),
    rendition_lag_s: z.record(z.string(), z.number().nullable()).openapi({
      description: "Per rendition: seconds from the capture of the end of its newest listed segment to `at` (null without a program date-time)",
    }),
  })
  .openapi("HealthSample");

/** The answer of `GET /streams/:id/health`. */
export const HealthHistorySchema = z
  .object({
    stream_id: z.string(),
    since: z.iso.datetime(),
    window_s: z.int().openapi({ description: "How far back the stream's object keeps samples" }),
    max_samples: z.int().openapi({ description: "The most samples it keeps (HEALTH_HISTORY_SAMPLES)" }),
    samples: z.array(HealthSampleSchema).openapi({ description: "Oldest first" }),
  })
  .openapi("HealthHistory");

const HealthQuerySchema = z.object({
  since: z
    .string()
    .optional()
    .openapi({ description: "ISO-8601 time or milliseconds since the epoch; default (and at most) an hour ago", example: "2026-12-06T12:00:00Z" }),
});

/** Routes under /streams/:id/health. */
export const streamHealthRoutes = apiRouter();

const healthRoute = createRoute({
  method: "get",
  path: "/",
  tags: ["Streams"],
  summary: "A stream's health over the last hour",
  description:
    "One sample per heartbeat of the stream's ingest node (about every 2 s) while it is live, kept by the stream's Durable Object for an hour (at most HEALTH_HISTORY_SAMPLES). Poll with `since` set to the last sample's `at` for new ones.",
  security: [{ bearer: [] }],
  request: { params: IdParams, query: HealthQuerySchema },
  responses: {
    200: { description: "The samples since `since`", content: { "application/json": { schema: HealthHistorySchema } } },
    ...problems(400, 401, 404),
  },
});

streamHealthRoutes.openapi(healthRoute, async (c) => {
  const row = await streamFromPath(c);
  const since = sinceParameter(c.req.valid("query").since, Date.now());
  if (since === null) throw new AppError(400, "invalid_field", "since: an ISO-8601 time or milliseconds since the epoch");
  const samples = await liveStream(c.env, row.id).healthSince(since);
  return c.json(
    {
      stream_id: row.id,
      since: new Date(since).toISOString(),
      window_s: HEALTH_HISTORY_MS / 1000,
      max_samples: getConfig(c.env).healthHistorySamples,
      samples: samples.map((sample) => ({ ...sample, at: new Date(sample.at).toISOString() })),
    },
    200,
  );
});

streamHealthRoutes.all("/", methodNotAllowed("GET"));
