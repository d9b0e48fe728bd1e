// A bench-only Worker that does one storage operation per request, so bench/workerd-store-growth.ts can tell which of
// Miniflare's local simulations (R2, the Cache API, Durable Object storage) grows workerd's memory with the objects
// it holds. Bound by that bench's Miniflare options (BUCKET, OBJECT), not by wrangler.jsonc.
import { DurableObject } from "cloudflare:workers";

interface StoreEnv {
  BUCKET: R2Bucket;
  DB: D1Database;
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

  /** A small object answer, as the stream's object answers a relay's playlist call. */
  async answer(i: number): Promise<{ status: number; body: string }> {
    return { status: 200, body: `#EXTM3U ${i}` };
  }

  /**
   * Starts a promise that settles `ms` later and hands it to the object's context (waitUntil, as the relay kept its work
   * alive) or only lets it run (`handOver` false: the same work without waitUntil).
   */
  async keepAlive(ms: number, handOver: boolean): Promise<number> {
    const work = new Promise((resolve) => setTimeout(resolve, ms));
    if (handOver) this.ctx.waitUntil(work);
    return ms;
  }

  /**
   * Sets a timer of `ms` inside a promise and clears it 1 ms later, before it fires (as a held request is released by
   * the next playlist before its timeout).
   */
  async clearedTimer(ms: number): Promise<number> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      setTimeout(() => {
        clearTimeout(timer);
        resolve();
      }, 1);
    });
    return ms;
  }

  /** The same answer as `answer`, `ms` later (a held call, as a relay's follow waits for the next playlist). */
  async answerLater(i: number, ms: number): Promise<{ status: number; body: string }> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.answer(i);
  }

  /**
   * Calls object `callee` once over RPC from inside this object (as a relay calls the stream's object), with a stub made
   * for the call, and disposes the call's result or leaves it.
   */
  async callOther(callee: string, i: number, dispose: boolean, holdMs = 0): Promise<number> {
    const stub = this.env.OBJECT.get(this.env.OBJECT.idFromName(callee));
    const result = holdMs > 0 ? await stub.answerLater(i, holdMs) : await stub.answer(i);
    const status = result.status;
    // Symbol.dispose is not in this bundle's TypeScript lib; workerd's RPC results carry it.
    const disposeKey = (Symbol as unknown as { dispose: symbol }).dispose;
    if (dispose) (result as unknown as Record<symbol, (() => void) | undefined>)[disposeKey]?.();
    return status;
  }
}

/** The D1 route's table, made by the first lookup of this isolate. */
let nodesTable: Promise<unknown> | undefined;

function missing(): Response {
  return new Response("missing", { status: 404 });
}

/**
 * Routes: /plain; PUT|GET /r2/<key>; PUT|GET /cache/<key>; GET /media/<key>; PUT|GET /do/<object>/<key>;
 * GET /d1/<id>; GET /rpc/<caller>/<callee>/<dispose 0|1>/<i>[/<hold ms>]; GET /wait-until/<object>/<ms>/<hand over 0|1>;
 * GET /cleared-timer/<object>/<ms>;
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
    if (kind === "rpc") {
      // GET /rpc/<caller>/<callee>/<dispose 0|1>/<i>: one RPC call made inside object <caller>.
      const [caller = "", callee = "", dispose = "0", i = "0", hold = "0"] = rest;
      const stub = env.OBJECT.get(env.OBJECT.idFromName(caller));
      return new Response(String(await stub.callOther(callee, Number(i), dispose === "1", Number(hold))));
    }
    if (kind === "cleared-timer") {
      // GET /cleared-timer/<object>/<ms>: object <object> sets a timer of <ms> and clears it before it fires.
      const [object = "", ms = "0"] = rest;
      return new Response(String(await env.OBJECT.get(env.OBJECT.idFromName(object)).clearedTimer(Number(ms))));
    }
    if (kind === "wait-until") {
      // GET /wait-until/<object>/<ms>/<hand over 0|1>: object <object> starts a promise of <ms>, handed to waitUntil or not.
      const [object = "", ms = "0", handOver = "1"] = rest;
      return new Response(String(await env.OBJECT.get(env.OBJECT.idFromName(object)).keepAlive(Number(ms), handOver === "1")));
    }
    if (kind === "d1") {
      // GET /d1/<id>: one parameterised lookup by primary key, as the edge authenticates each node upload (the table
      // made once per isolate, so an operation is that one statement).
      nodesTable ??= env.DB.prepare("CREATE TABLE IF NOT EXISTS nodes (id TEXT PRIMARY KEY, region TEXT)").run();
      await nodesTable;
      const row = await env.DB.prepare("SELECT region FROM nodes WHERE id = ? LIMIT ?")
        .bind(rest[0] ?? "", 1)
        .first();
      return new Response(JSON.stringify(row));
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
