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
  | "PUSH_AFTER_END";

/** A malformed or unsupported input stream; `code` is stable, `message` is for humans. */
export class PackagerError extends Error {
  readonly code: PackagerErrorCode;

  constructor(code: PackagerErrorCode, message: string) {
    super(message);
    this.name = "PackagerError";
    this.code = code;
  }
}
