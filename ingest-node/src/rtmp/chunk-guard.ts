// A pure RTMP chunk-stream reader that runs in front of node-media-server and refuses a connection before its bytes
// can make node-media-server allocate memory.
//
// Why a parser of our own rather than a patch of node-media-server's state: nms 4.4.3 allocates
// `Buffer.alloc(length + 1024)` per chunk stream id from the 24-bit length in a message header, for any number of ids,
// before any publish or key check. Its parser state is private and its buffers are allocated inside the same call that
// reads the header, so by the time we could look at its state the memory is taken. Reading the headers ourselves lets
// us refuse the bytes before nms ever sees them. To stay in step with nms on chunk boundaries this reader follows nms's
// parser exactly (its chunk stream id arithmetic, its extended-timestamp rule, its Set Chunk Size handling on any chunk
// stream) and refuses the few shapes where nms's own arithmetic goes astray (a new message header in the middle of a
// message), which no encoder sends.

/** Limits the guard enforces on one connection. */
export interface ChunkGuardLimits {
  /** Largest message a client may announce (nms allocates this much per chunk stream). */
  maxMessageBytes: number;
  /** Distinct chunk stream ids a client may use (ffmpeg 5.1 uses 2, 3, 4, 6 and 8; librtmp clients such as OBS a few). */
  maxChunkStreams: number;
  /** Bytes received and bytes nms would allocate, each, before the publish was authorized. */
  preauthBytes: number;
}

/** Why a connection was refused (stable codes, used in logs and metrics). */
export type ChunkGuardViolation = "not-rtmp" | "message-too-large" | "too-many-chunk-streams" | "bad-chunk-size" | "bad-chunking" | "preauth-budget";

/** The guard's verdict on bytes pushed into it. */
export type ChunkGuardVerdict = { ok: true } | { ok: false; code: ChunkGuardViolation; detail: string };

/** RTMP's C0 byte (protocol version 3). */
const RTMP_VERSION = 3;
/** Size of C1 and of C2. */
const HANDSHAKE_BYTES = 1536;
/** Chunk size every connection starts with (RTMP spec 5.4.1). */
const INITIAL_CHUNK_SIZE = 128;
/** Chunk sizes a client may set (128 is the spec's default; 65536 is far above what any encoder uses). */
export const CHUNK_SIZE_RANGE = { min: 128, max: 65536 } as const;
/** Message header sizes by chunk format 0..3. */
const MESSAGE_HEADER_BYTES = [11, 7, 3, 0] as const;
/** Message type of Set Chunk Size. */
const TYPE_SET_CHUNK_SIZE = 1;
/** Extra bytes nms allocates per message buffer. */
const NMS_ALLOC_SLACK = 1024;

/** What nms remembers per chunk stream id (mirrored field for field where it matters). */
interface ChunkStream {
  /** The timestamp (or delta) field of the last fmt 0/1/2 header: 0xffffff means an extended timestamp follows. */
  timestampField: number;
  length: number;
  type: number;
  clock: number;
  /** Payload bytes of the current message received so far. */
  bytes: number;
  /** Size of nms's payload buffer for this id (it only grows). */
  capacity: number;
  /** The first four payload bytes of the current message (a Set Chunk Size value). */
  head: Uint8Array;
}

type Phase = "c0" | "c1" | "c2" | "basic" | "basic-rest" | "header" | "extended" | "payload";

/** Reads one connection's bytes as nms will, and says when they cross a limit. */
export class RtmpChunkGuard {
  private readonly limits: ChunkGuardLimits;
  private readonly streams = new Map<number, ChunkStream>();
  private phase: Phase = "c0";
  private handshakeLeft = 0;
  private readonly header = new Uint8Array(18);
  private headerBytes = 0;
  private basicBytes = 1;
  private current: ChunkStream | null = null;
  private chunkSize = INITIAL_CHUNK_SIZE;
  private authorized = false;
  private failed: ChunkGuardVerdict | null = null;
  /** Bytes pushed so far. */
  bytesIn = 0;
  /** Bytes nms has allocated for message buffers on this connection (the sum of its per-id capacities). */
  allocatedBytes = 0;

  constructor(limits: ChunkGuardLimits) {
    this.limits = limits;
  }

  /** The publish was authorized: the pre-authorization budget no longer applies (the other limits still do). */
  authorize(): void {
    this.authorized = true;
  }

  /** Distinct chunk stream ids seen so far. */
  get chunkStreams(): number {
    return this.streams.size;
  }

  /** Reads `data`; once a verdict is not ok every later call returns it again (the connection must be closed). */
  push(data: Uint8Array): ChunkGuardVerdict {
    if (this.failed) return this.failed;
    this.bytesIn += data.length;
    if (!this.authorized && this.bytesIn > this.limits.preauthBytes) {
      return this.fail("preauth-budget", `${this.bytesIn} bytes before the publish was authorized (limit ${this.limits.preauthBytes})`);
    }
    let p = 0;
    while (p < data.length) {
      const step = this.step(data, p);
      if (typeof step !== "number") return step;
      p = step;
    }
    // A message announced with length 0 completes without consuming bytes; settle it now so state matches nms's.
    if (this.phase === "payload" && this.current!.bytes >= this.current!.length) {
      const settled = this.payload(data, p);
      if (typeof settled !== "number") return settled;
    }
    return { ok: true };
  }

  /** Consumes bytes from `p` for the current phase; returns the new position or a refusal. */
  private step(data: Uint8Array, p: number): number | ChunkGuardVerdict {
    switch (this.phase) {
      case "c0":
        if (data[p] !== RTMP_VERSION) return this.fail("not-rtmp", `first byte ${data[p]} is not RTMP version 3`);
        this.phase = "c1";
        this.handshakeLeft = HANDSHAKE_BYTES;
        return p + 1;
      case "c1":
      case "c2": {
        const n = Math.min(this.handshakeLeft, data.length - p);
        this.handshakeLeft -= n;
        if (this.handshakeLeft === 0) {
          this.phase = this.phase === "c1" ? "c2" : "basic";
          this.handshakeLeft = HANDSHAKE_BYTES;
        }
        return p + n;
      }
      case "basic": {
        const first = data[p]!;
        this.header[0] = first;
        this.headerBytes = 1;
        const low = first & 0x3f;
        this.basicBytes = low === 0 ? 2 : low === 1 ? 3 : 1;
        this.phase = this.basicBytes === 1 ? "header" : "basic-rest";
        return p + 1;
      }
      case "basic-rest":
        p = this.collect(data, p, this.basicBytes);
        if (this.headerBytes === this.basicBytes) this.phase = "header";
        return p;
      case "header": {
        const fmt = this.header[0]! >> 6;
        p = this.collect(data, p, this.basicBytes + MESSAGE_HEADER_BYTES[fmt]!);
        if (this.headerBytes < this.basicBytes + MESSAGE_HEADER_BYTES[fmt]!) return p;
        const parsed = this.parseHeader(fmt);
        if (parsed) return parsed;
        this.phase = "extended";
        return p;
      }
      case "extended": {
        const stream = this.current!;
        const fmt = this.header[0]! >> 6;
        const size = this.basicBytes + MESSAGE_HEADER_BYTES[fmt]! + (stream.timestampField === 0xffffff ? 4 : 0);
        p = this.collect(data, p, size);
        if (this.headerBytes < size) return p;
        if (stream.bytes === 0) {
          const at = this.basicBytes + MESSAGE_HEADER_BYTES[fmt]!;
          const h = this.header;
          const timestamp =
            stream.timestampField === 0xffffff ? ((h[at]! << 24) | (h[at + 1]! << 16) | (h[at + 2]! << 8) | h[at + 3]!) >>> 0 : stream.timestampField;
          stream.clock = fmt === 0 ? timestamp : stream.clock + timestamp;
          if (stream.capacity < stream.length) {
            this.allocatedBytes += stream.length + NMS_ALLOC_SLACK - stream.capacity;
            stream.capacity = stream.length + NMS_ALLOC_SLACK;
            if (!this.authorized && this.allocatedBytes > this.limits.preauthBytes) {
              return this.fail(
                "preauth-budget",
                `messages of ${this.allocatedBytes} bytes announced before the publish was authorized (limit ${this.limits.preauthBytes})`,
              );
            }
          }
        }
        this.phase = "payload";
        return p;
      }
      case "payload":
        return this.payload(data, p);
    }
  }

  /** Consumes payload bytes of the current chunk; at a chunk's or message's end goes back to the next basic header. */
  private payload(data: Uint8Array, p: number): number | ChunkGuardVerdict {
    const stream = this.current!;
    const n = Math.min(this.chunkSize - (stream.bytes % this.chunkSize), stream.length - stream.bytes, data.length - p);
    for (let i = 0; i < n && stream.bytes + i < 4; i++) stream.head[stream.bytes + i] = data[p + i]!;
    stream.bytes += n;
    if (stream.bytes >= stream.length) {
      this.phase = "basic";
      stream.bytes = 0;
      // nms drops a message whose clock passed 32 bits without handling it.
      if (stream.type === TYPE_SET_CHUNK_SIZE && stream.clock <= 0xffffffff) {
        const refused = this.setChunkSize(stream);
        if (refused) return refused;
      }
    } else if (stream.bytes % this.chunkSize === 0) {
      this.phase = "basic";
    }
    return p + n;
  }

  /** Applies a complete Set Chunk Size message as nms does (on any chunk stream), within the allowed range. */
  private setChunkSize(stream: ChunkStream): ChunkGuardVerdict | null {
    if (stream.length < 4) return this.fail("bad-chunk-size", `Set Chunk Size message of ${stream.length} bytes`);
    const h = stream.head;
    const size = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
    if (size < CHUNK_SIZE_RANGE.min || size > CHUNK_SIZE_RANGE.max) {
      return this.fail("bad-chunk-size", `chunk size ${size} outside ${CHUNK_SIZE_RANGE.min}..${CHUNK_SIZE_RANGE.max}`);
    }
    this.chunkSize = size;
    return null;
  }

  /** Reads a complete basic + message header into the chunk stream it names; a refusal when it breaks a limit. */
  private parseHeader(fmt: number): ChunkGuardVerdict | null {
    const h = this.header;
    // nms's arithmetic for the 2- and 3-byte forms (the 3-byte one differs from the spec's 64 + b1 + 256 * b2); the
    // id only names nms's per-stream state, so it must be computed the same way.
    const csid = this.basicBytes === 2 ? 64 + h[1]! : this.basicBytes === 3 ? (64 + h[1]! + h[2]!) << 8 : h[0]! & 0x3f;
    let stream = this.streams.get(csid);
    if (!stream) {
      if (this.streams.size >= this.limits.maxChunkStreams) {
        return this.fail("too-many-chunk-streams", `more than ${this.limits.maxChunkStreams} chunk streams`);
      }
      stream = { timestampField: 0, length: 0, type: 0, clock: 0, bytes: 0, capacity: 0, head: new Uint8Array(4) };
      this.streams.set(csid, stream);
    }
    // A fmt 0/1/2 header starts a message; inside one, nms's byte arithmetic goes negative and re-reads old bytes.
    if (fmt < 3 && stream.bytes !== 0) return this.fail("bad-chunking", `a new message header on chunk stream ${csid} inside a message`);
    let at = this.basicBytes;
    if (fmt <= 2) {
      stream.timestampField = (h[at]! << 16) | (h[at + 1]! << 8) | h[at + 2]!;
      at += 3;
    }
    if (fmt <= 1) {
      const length = (h[at]! << 16) | (h[at + 1]! << 8) | h[at + 2]!;
      if (length > this.limits.maxMessageBytes) {
        return this.fail("message-too-large", `a message of ${length} bytes (limit ${this.limits.maxMessageBytes})`);
      }
      stream.length = length;
      stream.type = h[at + 3]!;
    }
    this.current = stream;
    return null;
  }

  /** Copies header bytes from `data` until `this.header` holds `size` bytes; returns the new position. */
  private collect(data: Uint8Array, p: number, size: number): number {
    while (this.headerBytes < size && p < data.length) this.header[this.headerBytes++] = data[p++]!;
    return p;
  }

  private fail(code: ChunkGuardViolation, detail: string): ChunkGuardVerdict {
    this.failed = { ok: false, code, detail };
    return this.failed;
  }
}
