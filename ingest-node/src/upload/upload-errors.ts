// Typed errors of the uploader: every failure has a stable code, and says whether retrying may help.

/** Stable codes of uploader errors. */
export type UploadErrorCode =
  | "edge_unavailable"
  | "edge_rejected"
  | "edge_bad_response"
  | "stream_fenced"
  | "uploader_closed"
  | "invalid_object"
  | "backlog_unreadable"
  | "uploader_state"
  | "internal";

/** Base class of every error the uploader throws or reports. */
export class UploadError extends Error {
  readonly code: UploadErrorCode;
  /** True when the same request may succeed later (network error, timeout, 408/429/5xx). */
  readonly retryable: boolean;

  constructor(code: UploadErrorCode, message: string, retryable: boolean, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.retryable = retryable;
  }
}

/** The edge could not be reached or answered 408/429/5xx: retry with backoff. */
export class EdgeUnavailableError extends UploadError {
  /** HTTP status when the edge answered, null for a network error or timeout. */
  readonly status: number | null;
  /** Delay the edge asked for with Retry-After, in milliseconds. */
  readonly retryAfterMs: number | null;

  constructor(message: string, status: number | null, retryAfterMs: number | null, options?: ErrorOptions) {
    super("edge_unavailable", message, true, options);
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The edge refused the request for good (400/401/403/404/413, any other non-retryable 4xx, a redirect). */
export class EdgeRejectedError extends UploadError {
  readonly status: number;
  /** The `detail` of the edge's problem+json answer, else the start of its body. */
  readonly detail: string;

  constructor(status: number, detail: string, url: string) {
    super("edge_rejected", `edge answered ${status} for ${url}: ${detail}`, false);
    this.status = status;
    this.detail = detail;
  }
}

/** The edge answered 2xx with a body that does not match the protocol. */
export class EdgeBadResponseError extends UploadError {
  constructor(message: string, options?: ErrorOptions) {
    super("edge_bad_response", message, false, options);
  }
}

/** The edge answered 409: this node lost the stream's lease for this epoch; uploads for it stop. */
export class StreamFencedError extends UploadError {
  readonly streamId: string;
  /** The publish epoch that was fenced (every epoch up to it is). */
  readonly epoch: number;
  readonly detail: string;

  constructor(streamId: string, epoch: number, detail: string) {
    super("stream_fenced", `stream ${streamId} epoch ${epoch} is fenced: ${detail}`, false);
    this.streamId = streamId;
    this.epoch = epoch;
    this.detail = detail;
  }
}

/** The uploader was closed: no more objects are accepted, pending flushes end. */
export class UploaderClosedError extends UploadError {
  constructor() {
    super("uploader_closed", "the uploader is closed", false);
  }
}

/** An object handed to the sink has a name that cannot go into an upload URL. */
export class InvalidObjectError extends UploadError {
  constructor(message: string) {
    super("invalid_object", message, false);
  }
}

/** A spilled object could not be read back from disk (deleted, truncated or corrupt). */
export class BacklogUnreadableError extends UploadError {
  readonly file: string;

  constructor(file: string, message: string, options?: ErrorOptions) {
    super("backlog_unreadable", `spilled object ${file}: ${message}`, false, options);
    this.file = file;
  }
}

/** The uploader was used out of order (for instance `recover()` after the first object was queued). */
export class UploaderStateError extends UploadError {
  constructor(message: string) {
    super("uploader_state", message, false);
  }
}
