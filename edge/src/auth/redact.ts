// What of an error may reach a log line or a problem detail: never a secret. A failed drizzle query's message lists
// every bound parameter (a webhook's signing secret, a token's hash), so it is described by its SQL alone.

/** Our secrets (`sk_` stream keys, `et_` API tokens, `whsec_` webhook secrets, `nc_` node credentials), bearer
 *  tokens, and 64-hex digests (the stored hashes of keys and tokens). */
const SECRET_PATTERNS: [RegExp, string][] = [
  [/\b(sk|et|whsec|nc)_[A-Za-z0-9_-]{16,}/g, "$1_[redacted]"],
  [/\b(Bearer)\s+\S+/gi, "$1 [redacted]"],
  [/\b[0-9a-f]{64}\b/gi, "[redacted-hash]"],
];

/** `text` with every secret-looking substring replaced. */
export function redactSecrets(text: string): string {
  return SECRET_PATTERNS.reduce((out, [pattern, replacement]) => out.replace(pattern, replacement), text);
}

/** A drizzle `DrizzleQueryError` (checked by shape: the class is not exported from drizzle-orm's D1 entry). */
function isQueryError(err: unknown): err is Error & { query: string; params: unknown[] } {
  return err instanceof Error && typeof (err as { query?: unknown }).query === "string" && Array.isArray((err as { params?: unknown }).params);
}

/** One error's own message, safe to log: a failed query keeps its SQL and drops its parameters. */
function safeMessage(err: unknown): string {
  if (isQueryError(err)) return `Failed query: ${err.query} (${err.params.length} parameters withheld)`;
  // The same error after a Durable Object RPC has lost its fields but not its message: cut the parameter list.
  if (err instanceof Error) return `${err.name}: ${err.message.replace(/\nparams: [\s\S]*$/, "\nparams: [withheld]")}`;
  return String(err);
}

/**
 * Describes `err` for a log line: its message (a query's SQL without parameters), its stack frames, and its causes
 * (D1's own message), every part passed through `redactSecrets`. Never the raw `err.stack`, whose first line repeats
 * the message with the parameters.
 */
export function describeError(err: unknown): string {
  const lines: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth += 1) {
    lines.push(`${depth === 0 ? "" : "caused by: "}${safeMessage(current)}`);
    const stack = current instanceof Error ? (current.stack ?? "") : "";
    lines.push(
      ...stack
        .split("\n")
        .filter((line) => /^\s+at\s/.test(line))
        .slice(0, 8),
    );
    current = current instanceof Error ? current.cause : undefined;
  }
  return redactSecrets(lines.join("\n"));
}
