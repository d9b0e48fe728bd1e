// A bench-only Worker entry: the edge Worker's Durable Object classes (wrangler.jsonc binds them), but a fetch handler
// that runs none of the edge's code. bench/workerd-growth.ts compares workerd's memory under it with the real Worker's.
export { LiveStream, PlaylistRelay } from "../../edge/src/index.ts";

/** Answers every request "ok" and does nothing else. */
export default { fetch: (): Response => new Response("ok") };
