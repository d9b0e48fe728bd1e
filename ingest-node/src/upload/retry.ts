// Exponential backoff with full jitter, and a retry loop whose clock and randomness are injectable.

/** How long to wait between attempts. */
export interface RetryPolicy {
  /** Delay ceiling of the first retry, in milliseconds. */
  baseDelayMs: number;
  /** Largest delay between two attempts, in milliseconds. */
  maxDelayMs: number;
  /** Attempts in all (the first one included); Infinity retries until success or abort. */
  maxAttempts: number;
}

/** Waits `ms` milliseconds; rejects with the signal's reason when it aborts first. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** A number in [0, 1), like Math.random. */
export type Random = () => number;

/** The default policy: 200 ms base, 5 s cap, forever. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseDelayMs: 200, maxDelayMs: 5_000, maxAttempts: Infinity };

/** The default policy with the given fields replaced (undefined ones keep their default). */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    baseDelayMs: overrides.baseDelayMs ?? DEFAULT_RETRY_POLICY.baseDelayMs,
    maxDelayMs: overrides.maxDelayMs ?? DEFAULT_RETRY_POLICY.maxDelayMs,
    maxAttempts: overrides.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts,
  };
}

/**
 * The delay before retry number `retry` (0 for the first retry): full jitter, uniform in
 * [0, min(maxDelayMs, baseDelayMs * 2^retry)).
 */
export function backoffDelay(retry: number, policy: RetryPolicy, random: Random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(retry, 30));
  return Math.floor(random() * ceiling);
}

/** The delay to wait: the jittered backoff, raised to what the server asked for, never above the cap. */
export function retryDelay(retry: number, policy: RetryPolicy, random: Random = Math.random, serverHintMs: number | null = null): number {
  const jittered = backoffDelay(retry, policy, random);
  return Math.min(policy.maxDelayMs, Math.max(jittered, serverHintMs ?? 0));
}

/** setTimeout as a promise that an AbortSignal can cut short. */
export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/** Options of withRetry. */
export interface RetryOptions {
  policy: RetryPolicy;
  /** Which errors are worth another attempt; the others are thrown at once. */
  isRetryable: (error: unknown) => boolean;
  /** A delay the server asked for (Retry-After), in milliseconds. */
  serverHintMs?: (error: unknown) => number | null;
  sleep?: Sleep;
  random?: Random;
  /** Aborting stops the loop and throws the signal's reason. */
  signal?: AbortSignal;
  /** Called before each wait, with the failed attempt's error, the retry number (from 0) and the delay. */
  onRetry?: (error: unknown, retry: number, delayMs: number) => void;
}

/** Runs `operation` until it succeeds, fails with a non-retryable error, runs out of attempts or is aborted. */
export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  for (let attempt = 0; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await operation(attempt);
    } catch (error) {
      options.signal?.throwIfAborted();
      if (!options.isRetryable(error) || attempt + 1 >= options.policy.maxAttempts) throw error;
      const delay = retryDelay(attempt, options.policy, random, options.serverHintMs?.(error) ?? null);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, options.signal);
    }
  }
}
