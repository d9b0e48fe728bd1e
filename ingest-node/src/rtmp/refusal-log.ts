// Counts the listener's refusals by reason and logs them without letting a flood of refused connections flood the log.
import type { LogFields, Logger } from "../log.ts";

/** At most one log line per reason in this many milliseconds; the next one says how many were not logged. */
const QUIET_MS = 5_000;

/** Refusals by reason, logged at most once per reason every few seconds. */
export class RefusalLog {
  private readonly log: Logger;
  private readonly totals = new Map<string, number>();
  private readonly lastLogged = new Map<string, number>();
  private readonly unlogged = new Map<string, number>();

  constructor(log: Logger) {
    this.log = log;
  }

  /** Counts one refusal of `reason` and logs `message` unless the same reason was logged moments ago. */
  refuse(reason: string, message: string, fields: LogFields = {}, level: "info" | "warn" = "warn"): void {
    this.totals.set(reason, (this.totals.get(reason) ?? 0) + 1);
    const now = Date.now();
    if (now - (this.lastLogged.get(reason) ?? -Infinity) < QUIET_MS) {
      this.unlogged.set(reason, (this.unlogged.get(reason) ?? 0) + 1);
      return;
    }
    const quiet = this.unlogged.get(reason) ?? 0;
    this.unlogged.delete(reason);
    this.lastLogged.set(reason, now);
    this.log[level](message, quiet ? { ...fields, not_logged_before: quiet } : fields);
  }

  /** Refusals so far, by reason. */
  counts(): Record<string, number> {
    return Object.fromEntries(this.totals);
  }
}
