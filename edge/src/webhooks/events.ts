// Webhook events: their types, the JSON body receivers get, and the queue message that carries one delivery.

/** Every event type an endpoint can subscribe to. */
export const WEBHOOK_EVENT_TYPES = ["stream.live", "stream.offline", "vod.ready", "clip.ready"] as const;
/** An event type. */
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The JSON body POSTed to an endpoint. `id` is also the `webhook-id` header: the same on every retry. */
export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  /** ISO-8601 UTC time the event happened. */
  created_at: string;
  /** Event details; always has `stream_id`. */
  data: { stream_id: string } & Record<string, unknown>;
}

/** One delivery on the WEBHOOKS queue: an event for one endpoint (its URL and secret are read when delivering). */
export interface WebhookMessage {
  endpoint_id: string;
  event_id: string;
  type: WebhookEventType;
  /** The event's JSON, serialized once so every attempt sends (and signs) the same bytes. */
  body: string;
}

/** True when `value` is a WebhookMessage (queue bodies are untrusted input like any other). */
export function isWebhookMessage(value: unknown): value is WebhookMessage {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.endpoint_id === "string" &&
    typeof v.event_id === "string" &&
    typeof v.body === "string" &&
    (WEBHOOK_EVENT_TYPES as readonly unknown[]).includes(v.type)
  );
}

/** Whether an endpoint subscribed to `events` (stored JSON array; empty means every type) wants `type`. */
export function subscribesTo(events: string, type: WebhookEventType): boolean {
  const list = parseEvents(events);
  return list.length === 0 || list.includes(type);
}

/** The stored events JSON as a list (invalid JSON counts as "every type"). */
export function parseEvents(events: string): WebhookEventType[] {
  try {
    const parsed: unknown = JSON.parse(events);
    return Array.isArray(parsed) ? parsed.filter((e): e is WebhookEventType => (WEBHOOK_EVENT_TYPES as readonly unknown[]).includes(e)) : [];
  } catch {
    return [];
  }
}
