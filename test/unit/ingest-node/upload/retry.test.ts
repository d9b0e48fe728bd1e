import { describe, expect, it } from "vitest";
import { isRetryableStatus, parseRetryAfter, problemDetail } from "../../../../ingest-node/src/upload/edge-http.ts";
import { DEFAULT_RETRY_POLICY, backoffDelay, retryDelay, retryPolicy, withRetry } from "../../../../ingest-node/src/upload/retry.ts";
import type { RetryPolicy, Sleep } from "../../../../ingest-node/src/upload/retry.ts";

const policy: RetryPolicy = { baseDelayMs: 200, maxDelayMs: 5_000, maxAttempts: Infinity };

class Flaky extends Error {}

describe("backoffDelay", () => {
  it("doubles the ceiling per retry up to the cap, with full jitter below it", () => {
    const top = () => 0.999999;
    expect([0, 1, 2, 3, 4, 5, 6, 40].map((retry) => backoffDelay(retry, policy, top))).toEqual([199, 399, 799, 1599, 3199, 4999, 4999, 4999]);
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(800);
  });

  it("stays within [0, cap) for any random draw", () => {
    for (let retry = 0; retry < 50; retry++) {
      const delay = backoffDelay(retry, policy);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(policy.maxDelayMs);
    }
  });

  it("honours a server's Retry-After hint without exceeding the cap", () => {
    expect(retryDelay(0, policy, () => 0, 1_000)).toBe(1_000);
    expect(retryDelay(0, policy, () => 0, 60_000)).toBe(5_000);
    expect(retryDelay(4, policy, () => 0.5, 100)).toBe(1_600);
  });

  it("fills a partial policy from the defaults", () => {
    expect(retryPolicy({ baseDelayMs: 10 })).toEqual({ ...DEFAULT_RETRY_POLICY, baseDelayMs: 10 });
    expect(DEFAULT_RETRY_POLICY).toEqual({ baseDelayMs: 200, maxDelayMs: 5_000, maxAttempts: Infinity });
  });
});

describe("withRetry", () => {
  const recordingSleep =
    (slept: number[]): Sleep =>
    async (ms) => {
      slept.push(ms);
    };

  it("retries retryable failures with the policy's delays until the operation succeeds", async () => {
    const slept: number[] = [];
    const retries: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async (attempt) => {
        calls++;
        if (attempt < 4) throw new Flaky("down");
        return "ok";
      },
      {
        policy,
        isRetryable: (error) => error instanceof Flaky,
        sleep: recordingSleep(slept),
        random: () => 0.5,
        onRetry: (_error, retry) => retries.push(retry),
      },
    );
    expect(result).toBe("ok");
    expect(calls).toBe(5);
    expect(slept).toEqual([100, 200, 400, 800]);
    expect(retries).toEqual([0, 1, 2, 3]);
  });

  it("throws a non-retryable error at once", async () => {
    const slept: number[] = [];
    let calls = 0;
    const fatal = new Error("bad request");
    await expect(
      withRetry(
        async () => {
          calls++;
          throw fatal;
        },
        { policy, isRetryable: (error) => error instanceof Flaky, sleep: recordingSleep(slept) },
      ),
    ).rejects.toBe(fatal);
    expect(calls).toBe(1);
    expect(slept).toEqual([]);
  });

  it("gives up after maxAttempts with the last error", async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new Flaky(`attempt ${calls}`);
        },
        { policy: { ...policy, maxAttempts: 3 }, isRetryable: () => true, sleep: async () => undefined },
      ),
    ).rejects.toThrow("attempt 3");
    expect(calls).toBe(3);
  });

  it("stops with the abort reason when aborted during a backoff (real sleep)", async () => {
    const controller = new AbortController();
    const reason = new Error("closed");
    const started = Date.now();
    const run = withRetry(
      async () => {
        throw new Flaky("down");
      },
      { policy: { ...policy, baseDelayMs: 10_000, maxDelayMs: 10_000 }, isRetryable: () => true, random: () => 0.99, signal: controller.signal },
    );
    setTimeout(() => controller.abort(reason), 20);
    await expect(run).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe("edge answers", () => {
  it("retries 408, 429 and 5xx only", () => {
    expect([408, 429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 409, 413, 422].some(isRetryableStatus)).toBe(false);
  });

  it("reads problem+json detail, falling back to the title and the raw body", () => {
    expect(problemDetail(JSON.stringify({ title: "Bad Request", detail: "msn must be >= 0" }))).toBe("msn must be >= 0");
    expect(problemDetail(JSON.stringify({ title: "Payload Too Large" }))).toBe("Payload Too Large");
    expect(problemDetail("plain text")).toBe("plain text");
    expect(problemDetail("")).toBe("(empty body)");
  });

  it("parses Retry-After as seconds or an HTTP date", () => {
    expect(parseRetryAfter("3")).toBe(3_000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter("soon")).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });
});
