// A bench-only Worker entry: the edge Worker exactly as it deploys, with its LiveStream class wrapped so that every call
// a stream's Durable Object receives is counted by method, and one extra route, GET /bench/object-calls/:streamId
// (answered only when BENCH_ROUTES is "1", like the edge's own /bench routes), that reads the counts. The viewer-scale
// benchmark (bench/viewers.ts) bundles this file instead of edge/src/index.ts, so the edge's code carries no counter.
import worker, { LiveStream as EdgeLiveStream, PlaylistRelay } from "../../edge/src/index.ts";
import { liveStream } from "../../edge/src/live/objects/live-stream-stub.ts";

export { PlaylistRelay };

/** Calls received by one stream object since it started, by method name. */
export type ObjectCalls = Record<string, number>;

const counts = new WeakMap<object, ObjectCalls>();

/** The stream's Durable Object, counting the calls it receives. */
export class LiveStream extends EdgeLiveStream {
  /** The counts so far (not counted itself). */
  async benchObjectCalls(): Promise<ObjectCalls> {
    return { ...(counts.get(this) ?? {}) };
  }
}

// Every method of the edge's class (RPC methods, fetch, alarm) is wrapped on the subclass's prototype: same behaviour,
// one increment per call.
for (const name of Object.getOwnPropertyNames(EdgeLiveStream.prototype)) {
  const descriptor = Object.getOwnPropertyDescriptor(EdgeLiveStream.prototype, name);
  if (name === "constructor" || typeof descriptor?.value !== "function") continue;
  const original = descriptor.value as (...args: unknown[]) => unknown;
  Object.defineProperty(LiveStream.prototype, name, {
    ...descriptor,
    value: function (this: object, ...args: unknown[]) {
      const calls = counts.get(this) ?? {};
      counts.set(this, calls);
      calls[name] = (calls[name] ?? 0) + 1;
      return original.apply(this, args);
    },
  });
}

const PREFIX = "/bench/object-calls/";

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path.startsWith(PREFIX) && (env as unknown as { BENCH_ROUTES?: string }).BENCH_ROUTES === "1") {
      const stub = liveStream(env, decodeURIComponent(path.slice(PREFIX.length))) as unknown as { benchObjectCalls(): Promise<ObjectCalls> };
      return Response.json(await stub.benchObjectCalls(), { headers: { "cache-control": "no-store" } });
    }
    return worker.fetch(request, env, ctx);
  },
  queue: worker.queue,
} satisfies ExportedHandler<Env>;
