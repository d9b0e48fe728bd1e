// Reads publishing RTMP connections in batches: after each read a connection rests until the next tick of one shared
// timer, and the bytes that arrive meanwhile wait in the kernel's receive buffer, to be read at once.
//
// Why: a publisher such as FFmpeg or OBS writes each audio and video frame as it has it, about 75 writes a second,
// and a node reading as bytes arrive wakes for most of them (64 reads a second per 720p publisher, measured with
// strace). Each read costs a system call and a pass through Node's stream machinery before any byte is parsed. Read
// every 40 ms instead, 16 publishers cost the main thread about a quarter less CPU (docs/BENCHMARKS.md, the ingest
// section's steps). The price is up to one interval of delay before the node sees a frame, which a 2 s or 6 s segment
// does not show and an LL-HLS part would: the node leaves interactive streams out (ingest-node.ts).
//
// Bounds: a resting connection's bytes stay in its socket's receive buffer, which the kernel bounds (net.ipv4.tcp_rmem);
// when it is full TCP's window closes and the publisher waits, nothing is dropped.
import type { Socket } from "node:net";

/** The libuv stream handle under a net.Socket: Node has no public call that stops reading without pausing the stream. */
interface StreamHandle {
  readStart(): number;
  readStop(): number;
  /** Node's own flag: true while its stream wants bytes (false under backpressure). */
  reading: boolean;
}

/** One shared timer that lets resting connections read again; each connection rests after every read. */
export class ReadCoalescer {
  readonly #intervalMs: number;
  readonly #resting = new Set<() => void>();
  #connections = 0;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  /** `intervalMs`: how long a connection rests after a read (0: connections are never held). */
  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** Connections read in batches now. */
  get connections(): number {
    return this.#connections;
  }

  /**
   * Makes `socket` rest after each read until the next tick. Returns false (and leaves the socket as it was) when the
   * interval is 0 or the socket has no libuv handle with read calls (a Node whose internals differ: read as before).
   */
  add(socket: Socket): boolean {
    const handle = (socket as unknown as { _handle?: Partial<StreamHandle> | null })._handle;
    if (
      this.#intervalMs <= 0 ||
      this.#closed ||
      socket.destroyed ||
      !handle ||
      typeof handle.readStart !== "function" ||
      typeof handle.readStop !== "function"
    ) {
      return false;
    }
    const stream = handle as StreamHandle;
    const readStart = stream.readStart.bind(stream);
    let held = false;
    const release = () => {
      held = false;
      // Node may have stopped reading meanwhile (backpressure): its own readStart will come when it wants bytes.
      if (stream.reading && !socket.destroyed) readStart();
    };
    // Node starts reading again on its own after each chunk (its stream wants more); while held that start waits for the tick.
    stream.readStart = () => (held ? 0 : readStart());
    const onData = () => {
      if (held || socket.destroyed || this.#closed) return;
      held = true;
      stream.readStop();
      this.#resting.add(release);
    };
    socket.on("data", onData);
    this.#connections += 1;
    this.#timer ??= setInterval(() => this.#tick(), this.#intervalMs).unref();
    socket.once("close", () => {
      socket.off("data", onData);
      this.#resting.delete(release);
      this.#connections -= 1;
      if (this.#connections === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    });
    return true;
  }

  #tick(): void {
    const due = [...this.#resting];
    this.#resting.clear();
    for (const release of due) release();
  }

  /** Stops the timer and lets every resting connection read (the listener is closing). */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#tick();
  }
}
