// Webhook endpoints: where a user's stream events are POSTed. Owner-scoped; the admin sees every endpoint. Mounted
// behind a bearer token (index.ts).
import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, type SQL } from "drizzle-orm";
import type { AppContext, Principal } from "../app-env.ts";
import { quotaFor } from "../auth/principal.ts";
import { newSecret } from "../auth/secrets.ts";
import { database } from "../db/client.ts";
import { fewerThan, insertWhere } from "../db/conditional-insert.ts";
import { webhookEndpoints } from "../db/schema.ts";
import { AppError, notFound, quotaExceeded } from "../errors.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";
import { apiRouter } from "../openapi/api-router.ts";
import { jsonBody, jsonBodyMiddleware } from "../openapi/json-request.ts";
import { problems } from "../openapi/problem.ts";
import { WebhookListSchema, WebhookSchema } from "../openapi/schemas.ts";
import { parseEvents, WEBHOOK_EVENT_TYPES, type WebhookEventType } from "../webhooks/events.ts";
import { webhookUrlProblem } from "../webhooks/webhook-url.ts";

/** Prefix of every signing secret. */
export const WEBHOOK_SECRET_PREFIX = "whsec";

const CreateWebhookSchema = z
  .strictObject({
    url: z.string().trim().max(2048),
    /** Event types to receive; omitted means every type (including ones added later). */
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1, "name at least one event, or omit it for every event").max(WEBHOOK_EVENT_TYPES.length).optional(),
  })
  .openapi("WebhookCreate");

type EndpointRow = typeof webhookEndpoints.$inferSelect;

/** The endpoint as the API shows it (never its secret, except once in the create answer). */
function render(row: EndpointRow) {
  const events = parseEvents(row.events);
  return {
    id: row.id,
    url: row.url,
    // Stored empty for "every type": shown as the types that exist today.
    events: events.length === 0 ? [...WEBHOOK_EVENT_TYPES] : events,
    owner_user_id: row.userId,
    created_at: row.createdAt,
  };
}

function visibleTo(principal: Principal): SQL | undefined {
  return principal.role === "admin" ? undefined : eq(webhookEndpoints.userId, principal.userId);
}

async function endpointFromPath(c: AppContext): Promise<EndpointRow> {
  const id = c.req.param("id") ?? "";
  const rows = /^[0-9a-f-]{36}$/.test(id)
    ? await database(c.env)
        .select()
        .from(webhookEndpoints)
        .where(and(eq(webhookEndpoints.id, id), visibleTo(c.get("principal"))))
        .limit(1)
    : [];
  const row = rows[0];
  if (!row) throw notFound(`Webhook endpoint "${id.slice(0, 64)}"`);
  return row;
}

const security = [{ bearer: [] }];
const IdParams = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, format: "uuid" }) });
const webhookAnswer = (description: string) => ({ description, content: { "application/json": { schema: WebhookSchema } } });

/** Routes under /webhooks. */
export const webhookRoutes = apiRouter();

const createWebhookRoute = createRoute({
  method: "post",
  path: "/",
  tags: ["Webhooks"],
  summary: "Add a webhook endpoint",
  description:
    "Events of your streams are POSTed to `url`, signed with the `secret` shown once, here (header `webhook-signature`). 409 `quota_exceeded` past MAX_WEBHOOKS_PER_USER.",
  security,
  middleware: jsonBodyMiddleware(),
  request: { body: jsonBody(CreateWebhookSchema) },
  responses: { 201: webhookAnswer("The endpoint, with its signing secret"), ...problems(400, 401, 409, 413, 415) },
});

webhookRoutes.openapi(createWebhookRoute, async (c) => {
  const body = c.req.valid("json");
  const problem = webhookUrlProblem(body.url, c.env.ALLOW_LOCAL_WEBHOOKS === "1");
  if (problem) throw new AppError(400, "invalid_field", `url: ${problem}`);
  const userId = c.get("principal").userId;
  const max = quotaFor(c, "webhooksPerUser");
  const events: WebhookEventType[] = body.events ? [...new Set(body.events)] : [];
  const secret = newSecret(WEBHOOK_SECRET_PREFIX);
  // The count and the insert are one statement: two requests racing for the last slot cannot both get it.
  const [row] = await insertWhere(
    database(c.env),
    webhookEndpoints,
    { id: crypto.randomUUID(), userId, url: new URL(body.url).href, secret, events: JSON.stringify(events) },
    fewerThan(webhookEndpoints, eq(webhookEndpoints.userId, userId), max),
  ).returning();
  if (!row) throw quotaExceeded("webhook endpoints", max, "MAX_WEBHOOKS_PER_USER");
  c.header("location", `/webhooks/${row.id}`);
  // The secret is shown once, here: receivers need it to check `webhook-signature`.
  return c.json({ ...render(row), secret }, 201);
});

const listWebhooksRoute = createRoute({
  method: "get",
  path: "/",
  tags: ["Webhooks"],
  summary: "List your webhook endpoints",
  security,
  responses: { 200: { description: "Newest first", content: { "application/json": { schema: WebhookListSchema } } }, ...problems(401) },
});

webhookRoutes.openapi(listWebhooksRoute, async (c) => {
  const rows = await database(c.env)
    .select()
    .from(webhookEndpoints)
    .where(visibleTo(c.get("principal")))
    .orderBy(desc(webhookEndpoints.createdAt), desc(webhookEndpoints.id));
  return c.json({ webhooks: rows.map(render) }, 200);
});

webhookRoutes.all("/", methodNotAllowed("GET", "POST"));

const getWebhookRoute = createRoute({
  method: "get",
  path: "/{id}",
  tags: ["Webhooks"],
  summary: "Read a webhook endpoint",
  security,
  request: { params: IdParams },
  responses: { 200: webhookAnswer("The endpoint (without its secret)"), ...problems(401, 404) },
});

webhookRoutes.openapi(getWebhookRoute, async (c) => c.json(render(await endpointFromPath(c)), 200));

const deleteWebhookRoute = createRoute({
  method: "delete",
  path: "/{id}",
  tags: ["Webhooks"],
  summary: "Delete a webhook endpoint",
  description: "Deliveries already queued for it are dropped.",
  security,
  request: { params: IdParams },
  responses: { 204: { description: "Deleted" }, ...problems(401, 404) },
});

webhookRoutes.openapi(deleteWebhookRoute, async (c) => {
  const row = await endpointFromPath(c);
  // Deliveries already queued for it find no endpoint and are dropped.
  await database(c.env).delete(webhookEndpoints).where(eq(webhookEndpoints.id, row.id));
  return c.body(null, 204);
});

webhookRoutes.all("/:id", methodNotAllowed("GET", "DELETE"));
