// Checks real answers against the OpenAPI document the Worker serves: the path, method and status must be documented,
// and a JSON body must match the document's schema for them. test/edge/api.ts runs it on every call it makes.
import { type OutputUnit, type Schema, Validator } from "@cfworker/json-schema";
import { exports } from "cloudflare:workers";

type MediaTypes = Record<string, { schema?: Schema }>;
type Operation = { responses: Record<string, { content?: MediaTypes }> };
type Document = { paths: Record<string, Record<string, Operation>>; components: Record<string, unknown> };

/** Paths the document leaves to the README (ingest nodes' API, live playback, pages, benchmarks): not checked. */
const UNDOCUMENTED = [
  /^\/ingest\/v1(\/|$)/,
  /^\/live(\/|$)/,
  /^\/watch(\/|$)/,
  /^\/bench(\/|$)/,
  /^\/docs(\/|$)/,
  /^\/dashboard(\/|$)/,
  /^\/static\//,
  /^\/openapi\.json$/,
];

let documentPromise: Promise<Document> | undefined;
const validators = new Map<Schema, Validator>();

function apiDocument(): Promise<Document> {
  documentPromise ??= exports.default.fetch(new Request("https://edge.test/openapi.json")).then((response) => response.json() as Promise<Document>);
  return documentPromise;
}

/** The document's path template for `pathname` (the one with the fewest parameters when several match), or null. */
function templateOf(document: Document, pathname: string): string | null {
  const matching = Object.keys(document.paths).filter((template) =>
    new RegExp(`^${template.replace(/[.]/g, "\\.").replace(/\{[^}]+\}/g, "[^/]+")}$`).test(pathname),
  );
  matching.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0));
  return matching[0] ?? null;
}

function validate(document: Document, schema: Schema, value: unknown): OutputUnit[] {
  let validator = validators.get(schema);
  if (!validator) {
    // The schema's $refs point into the document's components: validate against it with them alongside.
    validator = new Validator({ ...schema, components: document.components } as Schema, "2020-12", false);
    validators.set(schema, validator);
  }
  return validator.validate(value).errors;
}

/** Throws when `response` to `method path` is not what the OpenAPI document says it can be. */
export async function checkAgainstDocument(method: string, path: string, response: Response): Promise<void> {
  const pathname = new URL(path, "https://edge.test").pathname;
  if (UNDOCUMENTED.some((pattern) => pattern.test(pathname))) return;
  const document = await apiDocument();
  const what = `${method} ${pathname} → ${response.status}`;
  const template = templateOf(document, pathname);
  const operation = template ? document.paths[template]?.[method === "HEAD" ? "get" : method.toLowerCase()] : undefined;
  let content: MediaTypes | undefined;
  if (operation) {
    const documented = operation.responses[String(response.status)];
    if (!documented) throw new Error(`${what}: the OpenAPI document does not list status ${response.status} for ${method} ${template}`);
    content = documented.content;
  } else if (response.status === 404 || response.status === 405) {
    // No such route (404) or not this method (405): answered with the document's problem shape all the same.
    content = { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } };
  } else {
    throw new Error(`${what}: the OpenAPI document has no ${method} ${template ?? pathname}`);
  }
  const mediaType = (response.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
  if (method === "HEAD" || response.status === 204 || response.status === 304 || !/json$/.test(mediaType)) return;
  const schema = content?.[mediaType]?.schema;
  if (!schema) throw new Error(`${what}: the OpenAPI document has no ${mediaType} answer for it`);
  const errors = validate(document, schema, await response.clone().json());
  if (errors.length > 0) {
    const details = errors.map((error) => `${error.instanceLocation}: ${error.error}`).slice(-5);
    throw new Error(`${what}: the answer does not match the OpenAPI document:\n  ${details.join("\n  ")}`);
  }
}
