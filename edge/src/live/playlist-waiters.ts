// Blocked LL-HLS playlist requests held by a Durable Object until what they ask for lands, or until they time out.

/** One held request. */
interface Waiter {
  ready: () => boolean;
  resolve: (satisfied: boolean) => void;
}

/** Holds blocked playlist requests and releases them when the live window changes. */
export class PlaylistWaiters {
  private readonly waiters = new Set<Waiter>();

  /** Number of requests currently held. */
  get size(): number {
    return this.waiters.size;
  }

  /** Resolves true once `ready()` holds after a `notify()`, or false after `timeoutMs`. */
  wait(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const waiter: Waiter = { ready, resolve };
      setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Re-checks every held request; releases those now satisfied (all of them with `all`). */
  notify(all = false): void {
    for (const waiter of this.waiters) {
      if (all || waiter.ready()) {
        // The timer is left to fire (it then finds the request released): workerd keeps a cleared timer's entry, about
        // 176 bytes, until the Durable Object is evicted, so clearing one per released request grew a live stream's
        // object without bound (bench/workerd-store-growth.ts --mode=cleared-timer).
        this.waiters.delete(waiter);
        waiter.resolve(true);
      }
    }
  }
}
