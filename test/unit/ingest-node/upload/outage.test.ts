// An edge outage delays objects and loses none: errors, refused connections, timeouts, and a (virtual) minute down.
import { describe, expect, it } from "vitest";
import { FakeClock } from "./fake-clock.ts";
import {
  STREAM_A,
  STREAM_B,
  delay,
  expectAllInOrder,
  putInterleaved,
  renditionPlan,
  seededRandom,
  settledWithin,
  useUploaderTestEnv,
  waitFor,
} from "./fixtures.ts";

const env = useUploaderTestEnv();

describe("edge outage", () => {
  it("holds objects through a run of 503s and 500s, backlog rising then back to 0", { timeout: 10_000 }, async () => {
    const { uploader: up, logger } = env.uploader();
    const plans = [renditionPlan(STREAM_A, "360p", { segments: 6, parts: 2 }), renditionPlan(STREAM_A, "240p", { segments: 6, parts: 2 })];
    const [first, second] = [plans.map((plan) => plan.slice(0, 4)), plans.map((plan) => plan.slice(4))];
    await putInterleaved(up, first);
    await up.flush(STREAM_A);

    let calls = 0;
    env.edge.respond = () => (++calls % 2 ? { kind: "status", status: 503 } : { kind: "status", status: 500 });
    await putInterleaved(up, second);
    await delay(600);
    const during = up.backlog();
    expect(during.memoryObjects).toBe(second.flat().length);
    expect(up.pending(STREAM_A).objects).toBe(second.flat().length);
    expect(during.retries).toBeGreaterThan(4);
    expect(await settledWithin(up.flush(STREAM_A), 50)).toBe("pending");
    expect(logger.lines.some((line) => line.level === "warn" && line.message.includes("retrying"))).toBe(true);

    env.edge.respond = () => ({ kind: "store" });
    await up.flush(STREAM_A);
    expectAllInOrder(env.edge, plans);
    expect(up.backlog()).toMatchObject({ memoryObjects: 0, memoryBytes: 0, diskObjects: 0, failedObjects: 0 });
    expect(up.backlog().uploadedObjects).toBe(plans.flat().length);
    expect(up.pending(STREAM_A)).toEqual({ objects: 0, bytes: 0, dropped: 0 });
  });

  it("survives refused connections: the edge process gone, then back on the same port", { timeout: 10_000 }, async () => {
    const { uploader: up } = env.uploader();
    const plans = [renditionPlan(STREAM_A, "360p", { segments: 5 }), renditionPlan(STREAM_B, "360p", { segments: 5 })];
    const port = env.edge.port;
    await putInterleaved(
      up,
      plans.map((plan) => plan.slice(0, 2)),
    );
    await Promise.all([up.flush(STREAM_A), up.flush(STREAM_B)]);

    await env.edge.stop();
    await putInterleaved(
      up,
      plans.map((plan) => plan.slice(2)),
    );
    await waitFor(() => up.backlog().retries >= 6, 5_000, "retries while the edge is down");
    expect(up.backlog().memoryObjects).toBe(8);

    await env.edge.start(port);
    expect(env.edge.port).toBe(port);
    await Promise.all([up.flush(STREAM_A), up.flush(STREAM_B)]);
    expectAllInOrder(env.edge, plans);
    expect(up.backlog()).toMatchObject({ memoryObjects: 0, uploadedObjects: 12, failedObjects: 0 });
  });

  it("retries requests that time out (the edge hangs) and loses nothing", { timeout: 10_000 }, async () => {
    let hanging = true;
    env.edge.respond = () => (hanging ? { kind: "hang" } : { kind: "store" });
    const { uploader: up } = env.uploader({ requestTimeoutMs: 100 });
    const plan = renditionPlan(STREAM_A, "360p", { segments: 3, parts: 2 });
    await putInterleaved(up, [plan]);
    await waitFor(() => up.backlog().retries >= 3, 5_000, "timeouts to be retried");
    expect(env.edge.ackedPaths()).toEqual([]);
    hanging = false;
    await up.flush(STREAM_A);
    expectAllInOrder(env.edge, [plan]);
    expect(up.backlog().failedObjects).toBe(0);
  });

  it("rides out a 60 s outage on a virtual clock: backoff capped at 5 s, every object delivered in order", { timeout: 15_000 }, async () => {
    const clock = new FakeClock();
    const OUTAGE_MS = 60_000;
    let refused = 0;
    env.edge.respond = () => {
      if (clock.now < OUTAGE_MS) {
        refused++;
        return { kind: "status", status: 503 };
      }
      return { kind: "store" };
    };
    const { uploader: up } = env.uploader({
      sleep: clock.sleep,
      random: seededRandom(60),
      retry: { baseDelayMs: 200, maxDelayMs: 5_000 },
    });
    const plans = [
      renditionPlan(STREAM_A, "360p", { segments: 10, parts: 2 }),
      renditionPlan(STREAM_A, "240p", { segments: 10, parts: 2 }),
      renditionPlan(STREAM_B, "160p", { segments: 10 }),
    ];
    await putInterleaved(up, plans);
    const total = plans.flat().length;
    expect(up.backlog().memoryObjects).toBe(total);

    const flushed = Promise.all([up.flush(STREAM_A), up.flush(STREAM_B)]);
    await clock.runUntil(flushed);
    await flushed;

    expect(clock.now).toBeGreaterThanOrEqual(OUTAGE_MS);
    expect(Math.max(...clock.requested)).toBeLessThanOrEqual(5_000);
    // Only backoff sleeps move the virtual clock, each by 5 s at most: reaching 60 s took at least 12 refusals.
    expect(refused).toBeGreaterThanOrEqual(12);
    expectAllInOrder(env.edge, plans);
    expect(up.backlog()).toMatchObject({ memoryObjects: 0, diskObjects: 0, failedObjects: 0, uploadedObjects: total });
    expect(up.backlog().retries).toBe(refused);
  });
});
