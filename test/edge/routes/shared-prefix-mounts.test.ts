// Routers that share a prefix in index.ts (/live, /vod, /clips, /ingest/v1) each carry their own checks and CORS, so
// none depends on another being mounted before it: each one, mounted alone in an app of its own, answers a browser's
// preflight and refuses a missing credential (its own kind) exactly as the Worker does with every router mounted.
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { AppEnv } from "../../../edge/src/app-env.ts";
import { handleError } from "../../../edge/src/errors.ts";
import { app as worker } from "../../../edge/src/index.ts";
import { clipPlaybackRoutes, vodPlaybackRoutes } from "../../../edge/src/routes/asset-playback.ts";
import { clipRoutes } from "../../../edge/src/routes/clips.ts";
import { bearer, bootstrapOnly, nodeOnly } from "../../../edge/src/routes/guarded.ts";
import { ingestRoutes } from "../../../edge/src/routes/ingest.ts";
import { liveStoryboardRoutes } from "../../../edge/src/routes/live-storyboard.ts";
import { nodeRegistrationRoutes } from "../../../edge/src/routes/node-registration.ts";
import { playbackRoutes } from "../../../edge/src/routes/playback.ts";
import { vodStoryboardRoutes } from "../../../edge/src/routes/vod-storyboard.ts";
import { workerIngestRoutes } from "../../../edge/src/routes/worker-ingest.ts";

const ID = "00000000-0000-4000-8000-000000000000";

/** `router` mounted at `prefix` and nothing else. */
function alone(prefix: string, router: Hono<AppEnv>): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.route(prefix, router);
  app.onError(handleError);
  return app;
}

const preflight = { method: "OPTIONS", headers: { origin: "https://player.example", "access-control-request-method": "GET" } };

describe("routers sharing a prefix, each mounted alone", () => {
  const playback: [string, string, Hono<AppEnv>][] = [
    ["/live", `/live/${ID}/master.m3u8`, playbackRoutes],
    ["/live", `/live/${ID}/storyboard.vtt`, liveStoryboardRoutes],
    ["/live", `/live/${ID}/storyboard-3-0.jpg`, liveStoryboardRoutes],
    ["/vod", `/vod/${ID}/master.m3u8`, vodPlaybackRoutes],
    ["/vod", `/vod/${ID}/storyboard.vtt`, vodStoryboardRoutes],
    ["/clips", `/clips/${ID}/master.m3u8`, clipPlaybackRoutes],
  ];
  for (const [prefix, path, router] of playback) {
    it(`answers a preflight for ${path.replace(ID, ":id")} with the playback CORS headers, as the Worker does`, async () => {
      for (const app of [alone(prefix, router), worker]) {
        const response = await app.request(path, preflight, env);
        expect(response.status).toBe(204);
        expect(response.headers.get("access-control-allow-origin")).toBe("*");
        expect(response.headers.get("access-control-allow-headers")).toBe("Range");
      }
    });
  }

  it("the clip control API refuses a missing token on its own, and the clip playback under the same prefix asks for none", async () => {
    for (const app of [alone("/clips", bearer(clipRoutes)), worker]) {
      expect((await app.request(`/clips/${ID}`, {}, env)).status).toBe(401);
    }
    // Playback of a clip that does not exist: 404, not 401 (the bearer check stays on the control API's own paths).
    for (const app of [alone("/clips", clipPlaybackRoutes), worker]) {
      expect((await app.request(`/clips/${ID}/master.m3u8`, {}, env)).status).toBe(404);
    }
  });

  it("under /ingest/v1, registration asks for the bootstrap secret, node routes for a node credential, worker routes for a grant", async () => {
    const refusal = async (app: Hono<AppEnv>, path: string, method = "POST") => {
      const response = await app.request(path, { method, headers: { "content-type": "application/json" }, body: method === "GET" ? undefined : "{}" }, env);
      return [response.status, ((await response.json()) as { detail: string }).detail];
    };
    const cases: [string, Hono<AppEnv>, string, string, RegExp][] = [
      ["/ingest/v1/nodes/register", bootstrapOnly(nodeRegistrationRoutes), "/ingest/v1/nodes/register", "POST", /bootstrap secret/],
      ["/ingest/v1", nodeOnly(ingestRoutes), "/ingest/v1/publish", "POST", /node credential/],
      ["/ingest/v1", nodeOnly(ingestRoutes), "/ingest/v1/nodes/heartbeat", "POST", /node credential/],
      // The workers' router's context also carries their grant: cast, as the app's own mount accepts it.
      ["/ingest/v1/worker", workerIngestRoutes as unknown as Hono<AppEnv>, `/ingest/v1/worker/streams/${ID}/renditions/360p/segments/1`, "GET", /worker grant/],
    ];
    for (const [prefix, router, path, method, detail] of cases) {
      for (const app of [alone(prefix, router), worker]) {
        const [status, text] = await refusal(app, path, method);
        expect(status).toBe(401);
        expect(text).toMatch(detail);
      }
    }
  });
});
