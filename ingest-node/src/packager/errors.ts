// The one error type the packager throws, with stable codes callers can switch on.

/** Stable codes for malformed or unsupported fragmented-MP4 input. */
export type PackagerErrorCode =
  | "BOX_TOO_SMALL"
  | "BOX_TOO_LARGE"
  | "TRUNCATED"
  | "MALFORMED_BOX"
  | "MOOF_BEFORE_MOOV"
  | "MDAT_WITHOUT_MOOF"
  | "MOOF_WITHOUT_MDAT"
  | "DUPLICATE_INIT"
  | "NO_TRACKS"
  | "UNKNOWN_TRACK"
  | "UNSUPPORTED_CODEC"
  | "NOT_CMAF"
  | "PUSH_AFTER_END"
  /** The open segment outgrew its longest allowed duration without a keyframe to cut at. */
  | "KEYFRAME_TIMEOUT"
  /** The open segment outgrew its byte bound. */
  | "SEGMENT_TOO_LARGE";

/** A malformed or unsupported input stream; `code` is stable, `message` is for humans. */
export class PackagerError extends Error {
  readonly code: PackagerErrorCode;

  constructor(code: PackagerErrorCode, message: string) {
    super(message);
    this.name = "PackagerError";
    this.code = code;
  }
}
