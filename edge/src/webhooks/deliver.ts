// The WEBHOOKS queue consumer: signs and POSTs each delivery; acks on a 2xx answer, otherwise retries it later with
// exponential backoff (the consumer's max_retries in wrangler.jsonc bounds the attempts).
import { eq } from "drizzle-orm";
import { describeError, redactSecrets } from "../auth/redact.ts";
import { database } from "../db/client.ts";
import { webhookEndpoints } from "../db/schema.ts";
import { isWebhookMessage, type WebhookMessage } from "./events.ts";
import { signWebhook } from "./signature.ts";
import { webhookUrlProblem } from "./webhook-url.ts";

/** How long one POST may take before it counts as failed. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** Longest wait between two attempts (Queues allow up to 12 hours). */
export const MAX_RETRY_DELAY_S = 3_600;
/** Wait before the first retry when WEBHOOK_RETRY_BASE_SECONDS is not set. */
export const DEFAULT_RETRY_BASE_S = 5;

/** Seconds to wait after failed attempt number `attempts` (1-based): base, 2 x base, 4 x base, ... capped. */
export function retryDelaySeconds(attempts: number, baseSeconds: number = DEFAULT_RETRY_BASE_S): number {
  const exponent = Math.max(0, Math.min(attempts - 1, 20));
  return Math.min(MAX_RETRY_DELAY_S, Math.max(0, Math.round(baseSeconds * 2 ** exponent)));
}

function retryBase(env: Env): number {
  const raw = env.WEBHOOK_RETRY_BASE_SECONDS as string | undefined;
  const value = raw === undefined || raw === "" ? DEFAULT_RETRY_BASE_S : Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : DEFAULT_RETRY_BASE_S;
}

/** What one attempt came to. */
type Attempt = { ok: true } | { ok: false; why: string };

async function attempt(env: Env, message: Message<WebhookMessage>): Promise<Attempt | "gone"> {
  const delivery = message.body;
  const rows = await database(env).select().from(webhookEndpoints).where(eq(webhookEndpoints.id, delivery.endpoint_id)).limit(1);
  const endpoint = rows[0];
  // Deleted or disabled since the event was emitted: nobody to deliver to.
  if (!endpoint || endpoint.disabledAt) return "gone";
  // Checked again here: the endpoint may predate the rule, or ALLOW_LOCAL_WEBHOOKS may have been switched off since.
  if (webhookUrlProblem(endpoint.url, env.ALLOW_LOCAL_WEBHOOKS === "1")) {
    console.warn(`webhooks: endpoint ${endpoint.id} has a URL deliveries may not reach; dropping ${delivery.event_id}`);
    return "gone";
  }
  const timestamp = Math.floor(Date.now() / 1000);
  try {
    const response = await fetch(endpoint.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "edgecast-webhooks/1",
        "webhook-id": delivery.event_id,
        "webhook-signature": await signWebhook(endpoint.secret, timestamp, delivery.body),
        "webhook-attempt": String(message.attempts),
      },
      body: delivery.body,
      // A redirect is never followed (it could lead to a host the URL rule refuses): not a 2xx, so it is retried.
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return response.ok ? { ok: true } : { ok: false, why: `HTTP ${response.status}` };
  } catch (err) {
    return { ok: false, why: redactSecrets((err as Error).message || String(err)) };
  }
}

/** Delivers one message: ack on success (or when there is nothing to deliver to), else retry with backoff. */
async function deliver(env: Env, message: Message<unknown>, base: number): Promise<void> {
  if (!isWebhookMessage(message.body)) {
    console.error(`webhooks: dropping malformed message ${message.id}`);
    message.ack();
    return;
  }
  const delivery = message as Message<WebhookMessage>;
  let result: Attempt | "gone";
  try {
    result = await attempt(env, delivery);
  } catch (err) {
    result = { ok: false, why: `lookup failed: ${describeError(err).split("\n")[0]}` };
  }
  if (result === "gone" || result.ok) {
    message.ack();
    return;
  }
  const delaySeconds = retryDelaySeconds(message.attempts, base);
  console.warn(
    `webhooks: ${delivery.body.type} ${delivery.body.event_id} to endpoint ${delivery.body.endpoint_id} failed (${result.why}); attempt ${message.attempts}, next in ${delaySeconds} s`,
  );
  message.retry({ delaySeconds });
}

/**
 * The Worker's `queue()` handler for the WEBHOOKS queue. Endpoints are served in parallel; one endpoint's messages
 * go out one after another in batch order, so an endpoint usually sees an event before the next one (a retried
 * delivery comes later, out of order: receivers order by `created_at`, deduplicate by `webhook-id`).
 */
export async function deliverWebhooks(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const base = retryBase(env);
  const byEndpoint = new Map<string, Message<unknown>[]>();
  for (const message of batch.messages) {
    const key = isWebhookMessage(message.body) ? message.body.endpoint_id : `malformed:${message.id}`;
    byEndpoint.set(key, [...(byEndpoint.get(key) ?? []), message]);
  }
  await Promise.all(
    [...byEndpoint.values()].map(async (messages) => {
      for (const message of messages) await deliver(env, message, base);
    }),
  );
}
