// What the SRT listener's thread and the main thread tell each other (postMessage), and the shared verdict slot.

/** The listener's settings, handed to its thread as workerData. */
export interface ListenerSettings {
  host: string;
  port: number;
  latencyMs: number;
  passphrase: string | null;
  maxConnections: number;
  /** Callers in the handshake queue (srt_listen backlog). */
  backlog: number;
  /** Longest a caller's handshake waits for the edge's verdict on its key; then it is rejected as unavailable. */
  authTimeoutMs: number;
  /** A connected caller silent this long is dropped by libsrt (SRTO_PEERIDLETIMEO). */
  peerIdleTimeoutMs: number;
  /** One Int32 slot: the pending request id, swapped by the main thread for an encoded verdict. */
  authBuffer: SharedArrayBuffer;
}

/** Index of the verdict slot in `authBuffer`. */
export const AUTH_SLOT = 0;

/** Messages from the listener's thread. */
export type WorkerToMain =
  | { type: "listening" }
  | { type: "authorize"; request: number; socket: number; key: string; from: string }
  | { type: "refused"; reason: string; from: string }
  | { type: "accepted"; socket: number; from: string }
  | { type: "data"; socket: number; bytes: ArrayBuffer }
  | { type: "closed"; socket: number; reason: string }
  | { type: "stopped" };

/** Messages to the listener's thread. */
export type MainToWorker = { type: "close"; socket: number } | { type: "pause" } | { type: "stop" };

/**
 * A verdict as stored in the slot: negative so it can never equal a pending request id (positive). -1 accepts;
 * -(reason) rejects with that SRT rejection reason (1000 and up).
 */
export function encodeVerdict(rejectReason: number | null): number {
  return rejectReason === null ? -1 : -rejectReason;
}

/** The rejection reason of an encoded verdict, 0 when it accepts. */
export function decodeVerdict(value: number): number {
  return value === -1 ? 0 : -value;
}
