// A bench-only Worker that does one storage operation per request, so bench/workerd-store-growth.ts can tell which of
// Miniflare's local simulations (R2, the Cache API, Durable Object storage) grows workerd's memory with the objects
// it holds. Bound by that bench's Miniflare options (BUCKET, OBJECT), not by wrangler.jsonc.
import { DurableObject } from "cloudflare:workers";

interface StoreEnv {
  BUCKET: R2Bucket;
  OBJECT: DurableObjectNamespace<StoreObject>;
}

/** Instances of StoreObject this isolate has constructed: one more for an object evicted and then used again. */
let constructed = 0;

/** A Durable Object that keeps each written value in its SQLite storage under one key. */
export class StoreObject extends DurableObject<StoreEnv> {
  constructor(ctx: DurableObjectState, env: StoreEnv) {
    super(ctx, env);
    constructed++;
  }

  /** Stores `value` under `key`. */
  async write(key: string, value: ArrayBuffer): Promise<void> {
    await this.ctx.storage.put(key, value);
  }

  /** The value under `key`, or null. */
  async read(key: string): Promise<ArrayBuffer | null> {
    return (await this.ctx.storage.get<ArrayBuffer>(key)) ?? null;
  }
}

function missing(): Response {
  return new Response("missing", { status: 404 });
}

/**
 * Routes: /plain; PUT|GET /r2/<key>; PUT|GET /cache/<key>; GET /media/<key>; PUT|GET /do/<object>/<key>;
 * GET /do-constructed (how many Durable Object instances this isolate has constructed).
 */
export default {
  async fetch(request: Request, env: StoreEnv, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    const [, kind = "", ...rest] = url.pathname.split("/");
    const key = rest.join("/");
    const put = request.method === "PUT";
    if (kind === "plain") return new Response("ok");
    if (kind === "do-constructed") return new Response(String(constructed));
    if (kind === "r2") {
      if (put) {
        await env.BUCKET.put(key, request.body, { httpMetadata: { contentType: "video/mp4" } });
        return new Response(null, { status: 204 });
      }
      const object = await env.BUCKET.get(key);
      return object ? new Response(object.body) : missing();
    }
    if (kind === "cache") {
      // The edge keeps media answers in caches.default under their own URL; a key of the same shape here.
      const cacheKey = new Request(`https://media.example/${key}`);
      const cache = (caches as unknown as { default: Cache }).default;
      if (put) {
        const body = await request.arrayBuffer();
        await cache.put(cacheKey, new Response(body, { headers: { "cache-control": "public, max-age=86400", "content-type": "video/mp4" } }));
        return new Response(null, { status: 204 });
      }
      return (await cache.match(cacheKey)) ?? missing();
    }
    if (kind === "media") {
      // The edge's media read: the location's cache, else R2, kept in the cache for the next reader.
      const cacheKey = new Request(`https://media.example/${key}`);
      const cache = (caches as unknown as { default: Cache }).default;
      const hit = await cache.match(cacheKey);
      if (hit) return hit;
      const object = await env.BUCKET.get(key);
      if (!object) return missing();
      const body = await object.arrayBuffer();
      const headers = { "cache-control": "public, max-age=86400", "content-type": "video/mp4" };
      ctx.waitUntil(cache.put(cacheKey, new Response(body, { headers })));
      return new Response(body, { headers });
    }
    if (kind === "do") {
      const [object = "", ...inner] = rest;
      const stub = env.OBJECT.get(env.OBJECT.idFromName(object));
      if (put) {
        await stub.write(inner.join("/"), await request.arrayBuffer());
        return new Response(null, { status: 204 });
      }
      const value = await stub.read(inner.join("/"));
      return value ? new Response(value) : missing();
    }
    return missing();
  },
} satisfies ExportedHandler<StoreEnv>;
