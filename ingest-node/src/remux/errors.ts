// The one error type the FLV -> CMAF remuxer throws, with stable codes callers can switch on.

/** Stable codes for FLV input the remuxer cannot copy. */
export type RemuxErrorCode =
  /** Not an FLV byte stream, or a tag larger than allowed. */
  | "MALFORMED_FLV"
  /** Video other than AVC (H.264), or audio other than AAC: only FFmpeg can take it. */
  | "UNSUPPORTED_CODEC"
  /** An AVC or AAC configuration that cannot be read. */
  | "BAD_CONFIG"
  /** The codec configuration changed mid-stream: the init segment no longer describes the media (a restart makes a new one). */
  | "CONFIG_CHANGED"
  /** push() after end(). */
  | "PUSH_AFTER_END";

/** FLV input the remuxer refuses; `code` is stable, `message` is for humans. */
export class RemuxError extends Error {
  readonly code: RemuxErrorCode;

  constructor(code: RemuxErrorCode, message: string) {
    super(message);
    this.name = "RemuxError";
    this.code = code;
  }
}
