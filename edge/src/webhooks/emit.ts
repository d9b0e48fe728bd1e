// Emitting a webhook event: one queue message per endpoint of the stream's owner that subscribed to the type.
import { and, eq, isNull } from "drizzle-orm";
import { database } from "../db/client.ts";
import { streams, webhookEndpoints } from "../db/schema.ts";
import { subscribesTo, type WebhookEvent, type WebhookEventType, type WebhookMessage } from "./events.ts";

/** Queues accept at most this many messages per sendBatch. */
const SEND_BATCH_MAX = 100;

/** A new event id (`evt_` + 32 hex digits): the `webhook-id` receivers deduplicate on. */
export function newEventId(): string {
  return `evt_${crypto.randomUUID().replace(/-/g, "")}`;
}

/**
 * Emits `type` for `streamId`: looks up the stream owner's endpoints and enqueues one delivery per endpoint that
 * subscribed to it on the WEBHOOKS queue (the consumer signs, POSTs and retries). `data` is merged after
 * `stream_id`. Returns the event, or null when nobody listens. Throws when D1 or the queue fails: callers on a path
 * that must not fail catch and log, or (a broadcast starting or ending) retry with the same `fixed` id and time, so
 * receivers see one event however often it is sent.
 */
export async function emitEvent(
  env: Env,
  streamId: string,
  type: WebhookEventType,
  data: Record<string, unknown> = {},
  fixed?: { id: string; createdAt: string },
): Promise<WebhookEvent | null> {
  const endpoints = await database(env)
    .select({ id: webhookEndpoints.id, events: webhookEndpoints.events })
    .from(streams)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.userId, streams.ownerUserId))
    .where(and(eq(streams.id, streamId), isNull(webhookEndpoints.disabledAt)));
  const targets = endpoints.filter((endpoint) => subscribesTo(endpoint.events, type));
  if (targets.length === 0) return null;
  const event: WebhookEvent = {
    id: fixed?.id ?? newEventId(),
    type,
    created_at: fixed?.createdAt ?? new Date().toISOString(),
    data: { ...data, stream_id: streamId },
  };
  const body = JSON.stringify(event);
  const queue = env.WEBHOOKS as Queue<WebhookMessage> | undefined;
  if (!queue) throw new Error("the WEBHOOKS queue binding is missing: webhook events cannot be delivered");
  for (let i = 0; i < targets.length; i += SEND_BATCH_MAX) {
    await queue.sendBatch(
      targets.slice(i, i + SEND_BATCH_MAX).map((endpoint) => ({
        body: { endpoint_id: endpoint.id, event_id: event.id, type, body } satisfies WebhookMessage,
        contentType: "json" as const,
      })),
    );
  }
  return event;
}
