// Structured, human-readable logs: `2026-11-25T18:00:00.000Z INFO  rtmp  publish accepted stream=… renditions=3`.

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Fields attached to a log line; values are printed as `key=value`. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** A component's logger. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(component: string): Logger;
}

/** Replaces anything that looks like a stream key or an RTMP stream name with a placeholder. */
export function redact(text: string): string {
  return text
    .replace(/\bsk_[A-Za-z0-9_-]+/g, "sk_…")
    .replace(/(rtmps?:\/\/[^\s/]+\/[^\s/]+\/)[^\s/?]+/g, "$1…")
    .replace(/(\/live\/)[A-Za-z0-9_-]+/g, "$1…");
}

function format(value: LogFields[string]): string {
  const text = String(value);
  return /[\s"=]/.test(text) ? JSON.stringify(text) : text;
}

/**
 * A logger for `component` that prints `threshold` and above (the entry point's LOG_LEVEL; its children inherit it),
 * writing to stdout (info and below) or stderr (warn, error).
 */
export function createLogger(component: string, threshold: LogLevel = "info"): Logger {
  const write = (level: LogLevel, message: string, fields: LogFields = {}) => {
    if (ORDER[level] < ORDER[threshold]) return;
    const extras = Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${format(value)}`)
      .join(" ");
    const line = redact(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${component.padEnd(8)} ${message}${extras ? ` ${extras}` : ""}`);
    (ORDER[level] >= ORDER.warn ? process.stderr : process.stdout).write(`${line}\n`);
  };
  return {
    debug: (message, fields) => write("debug", message, fields),
    info: (message, fields) => write("info", message, fields),
    warn: (message, fields) => write("warn", message, fields),
    error: (message, fields) => write("error", message, fields),
    child: (name) => createLogger(`${component}/${name}`, threshold),
  };
}
