// Three test projects: `unit` (pure logic, Node), `edge` (inside workerd), `e2e` (the real system, Node).
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
          testTimeout: 30_000,
        },
      },
      {
        plugins: [
          cloudflareTest(async () => ({
            main: "./edge/src/index.ts",
            wrangler: { configPath: "./wrangler.jsonc" },
            miniflare: {
              bindings: {
                ADMIN_TOKEN: "test-admin-token",
                INGEST_SECRET: "test-ingest-secret",
                // Test nodes advertise rtmp://<node>.test URLs (test/edge/routes/regions.test.ts).
                INGEST_HOST_PATTERN: "*.test",
                PLAYBACK_SIGNING_SECRET: "test-playback-secret",
                PUBLIC_URL: "https://play.example.test",
                MAX_MEDIA_BYTES: "1048576",
                ALLOW_LOCAL_WEBHOOKS: "1",
                // The pool runs the Worker with no_handle_cross_request_promise_resolution (its runner needs it), so one
                // request cannot wake another: coalescing is tested end to end under wrangler dev (test/e2e) instead.
                COALESCE_PLAYLISTS: "0",
                // Small, so a test reaches it (test/edge/routes/held-requests.test.ts); no other test holds this many.
                MAX_HELD_REQUESTS: "64",
                // Small, so a test fills a stream's health history past its bound (test/edge/routes/stream-health.test.ts).
                HEALTH_HISTORY_SAMPLES: "8",
                // Small, so a test reaches it (test/edge/routes/storyboard.test.ts).
                STORYBOARD_MAX_SHEETS: "3",
                // Queue-mode publishes get worker grants (test/edge/routes/worker-grant-renewal.test.ts).
                WORKER_GRANT_SECRET: "test-worker-grant-secret",
                WORKER_GRANT_LIFETIME_S: "60",
                // Lets a test choose the relay location per request (test/edge/routes/plain-reload-relay.test.ts).
                TEST_RELAY_LOCATION_HEADER: "x-test-relay-location",
                // Only these simulated locations go through a region's relay (test/edge/routes/relay-tier.test.ts); every
                // other location's relay asks the stream's object itself, as the other tests expect.
                RELAY_TIER_REGIONS: "tier-east=EAA EAB EAC EAD EAE EAF EAG EAH; tier-west=WAA WAB WAC WAD",
                // Relays keep no plain playlist here, so a test sees an upload in its very next reload; the relay's staleness
                // bound is turned on per relay by test/edge/routes/plain-reload-relay.test.ts.
                PLAYLIST_STALENESS_MS: "0",
                TEST_MIGRATIONS: await readD1Migrations("./migrations"),
              },
            },
          })),
        ],
        test: {
          name: "edge",
          include: ["test/edge/**/*.test.ts"],
          setupFiles: ["./test/edge/apply-migrations.ts"],
          // wrangler.jsonc's assets (the bundled front end) must exist; this pool runs no `build.command`.
          globalSetup: ["./scripts/build-web.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
