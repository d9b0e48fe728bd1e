// Helpers for calling the Worker under test through its real fetch handler.
import { exports } from "cloudflare:workers";
import { checkAgainstDocument } from "./openapi-check.ts";

/** The admin token the test configuration sets. */
export const ADMIN = "test-admin-token";

/** Options of one API call. */
export interface CallOptions {
  token?: string | null;
  body?: unknown;
  rawBody?: BodyInit;
  headers?: Record<string, string>;
}

/**
 * Calls the Worker with JSON in and out; `token: null` sends no Authorization header. Throws when the answer is not
 * what the OpenAPI document says it can be (undocumented route or status, or a JSON body that does not match).
 */
export async function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? ADMIN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: BodyInit | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const response = await exports.default.fetch(new Request(`https://edge.test${path}`, { method, headers, body, redirect: "manual" }));
  await checkAgainstDocument(method, path, response);
  return response;
}

/** Calls the Worker and parses the JSON answer, asserting the status. */
export async function callJson<T = Record<string, unknown>>(method: string, path: string, expectedStatus: number, options: CallOptions = {}): Promise<T> {
  const response = await call(method, path, options);
  const text = await response.text();
  if (response.status !== expectedStatus) {
    throw new Error(`${method} ${path}: expected ${expectedStatus}, got ${response.status}: ${text}`);
  }
  return JSON.parse(text) as T;
}

/** Creates a user and a token for it through the admin API. */
export async function newUser(name = "streamer"): Promise<{ userId: string; token: string }> {
  const user = await callJson<{ user_id: string }>("POST", "/users", 201, { body: { name } });
  const token = await callJson<{ token: string }>("POST", `/users/${user.user_id}/tokens`, 201, { body: { name: "test" } });
  return { userId: user.user_id, token: token.token };
}
